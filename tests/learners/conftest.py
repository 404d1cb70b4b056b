"""A tiny hand-made dataset and a fast deterministic encoder for the learners' tests."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import scipy.sparse as sp

from skim.data import Dataset, save_dataset

DIM = 32


class FakeEncoder:
    """Bag of hashed words: texts sharing words get similar vectors; no model download."""

    id = "fake-bow-32"

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIM), np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                seed = int(hashlib.md5(word.encode()).hexdigest()[:8], 16)
                out[i] += np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
        out += 1e-3
        return out / np.linalg.norm(out, axis=1, keepdims=True)


COLOURS = ["red", "green", "blue", "yellow", "purple", "orange"]
ANIMALS = ["cat", "dog", "fish", "bird"]
LABELS = COLOURS + ANIMALS


def _queries(rng: np.random.Generator, n: int) -> tuple[list[str], sp.csr_matrix, list[str]]:
    texts, rows, cols, meta = [], [], [], []
    for i in range(n):
        colour = COLOURS[rng.integers(len(COLOURS))]
        animal = ANIMALS[rng.integers(len(ANIMALS))]
        texts.append(f"a {colour} {animal}")
        meta.append(f"the {animal} is {colour}")
        rows += [i, i]
        cols += [LABELS.index(colour), LABELS.index(animal)]
    matrix = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), (n, len(LABELS)))
    return texts, matrix, meta


def make_dataset() -> Dataset:
    """60 train / 20 test queries 'a <colour> <animal>' labelled with both words."""
    rng = np.random.default_rng(7)
    trn, trn_y, trn_meta = _queries(rng, 60)
    tst, tst_y, tst_meta = _queries(rng, 20)
    observed = trn_y.tolil()
    for i in range(0, 60, 3):  # a third of the rows lose their animal label
        for j in range(len(COLOURS), len(LABELS)):
            observed[i, j] = 0
    observed = sp.csr_matrix(observed)
    observed.eliminate_zeros()
    return Dataset(
        trn_texts=trn,
        tst_texts=tst,
        label_texts=list(LABELS),
        trn_X_Y=observed,
        tst_X_Y=tst_y,
        trn_X_Y_unbiased=trn_y,
        tst_X_Y_unbiased=tst_y,
        trn_meta=trn_meta,
        tst_meta=tst_meta,
    )


@pytest.fixture
def dataset() -> Dataset:
    return make_dataset()


@pytest.fixture
def dataset_dir(tmp_path, dataset):
    return save_dataset(dataset, tmp_path / "data")


@pytest.fixture
def encoder() -> FakeEncoder:
    return FakeEncoder()


@pytest.fixture
def fit_kwargs(encoder, tmp_path) -> dict:
    """Fast settings shared by the tests that train a model."""
    return {
        "encoder": encoder,
        "cache_dir": tmp_path / "cache",
        "epochs": 3,
        "batch_size": 16,
        "show_progress": False,
        "device": "cpu",
    }


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Embeddings cached by a test stay in its own folder."""
    monkeypatch.setenv("SKIM_CACHE_DIR", str(tmp_path / "skim-cache"))
