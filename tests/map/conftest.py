"""A hand-made mapping case: 3-d embeddings whose cosines are easy to check by hand.

Labels: cat = e1, dog = e2, fish = e3, bird = (e1 + e2) / sqrt 2. Train queries: qa = e1,
qb = e2, qc = (e1 + e2) / sqrt 2. Synthetic texts map to the vectors of ``VECTORS``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

from skim.data import Dataset

R2 = np.sqrt(2.0)
VECTORS = {
    "cat": [1, 0, 0],
    "dog": [0, 1, 0],
    "fish": [0, 0, 1],
    "bird": [1 / R2, 1 / R2, 0],
    "qa": [1, 0, 0],
    "qb": [0, 1, 0],
    "qc": [1 / R2, 1 / R2, 0],
    "kitty": [1, 0, 0],  # cat 1.0, bird (1 + 1/sqrt2) / 2
    "puppy": [0.6, 0.8, 0],  # bird (1 + 1.4/sqrt2) / 2, dog 0.9, cat 0.8
    "fishy": [0.1, 0, 1],  # fish ~0.9975, cat ~0.55
}
CAT, DOG, FISH, BIRD = 0, 1, 2, 3


def score(cos: float) -> float:
    return (cos + 1) / 2


class FakeEncoder:
    """Maps known strings to the hand-made vectors; counts the texts it encodes."""

    id = "fake-3d"

    def __init__(self) -> None:
        self.encoded = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        self.encoded += len(texts)
        return np.asarray([VECTORS[t] for t in texts], dtype=np.float32)


@pytest.fixture
def encoder() -> FakeEncoder:
    return FakeEncoder()


@pytest.fixture
def dataset() -> Dataset:
    """Clicks (0, cat), (1, dog) and a soft (2, fish) = 0.5; complete labels add four pairs."""
    clicks = np.zeros((3, 4), np.float32)
    clicks[0, CAT] = clicks[1, DOG] = 1
    clicks[2, FISH] = 0.5
    complete = np.zeros((3, 4), np.float32)
    complete[0, [CAT, BIRD]] = 1
    complete[1, [DOG, CAT, FISH]] = 1
    complete[2, [FISH, CAT]] = 1
    return Dataset(
        trn_texts=["qa", "qb", "qc"],
        tst_texts=["qa"],
        label_texts=["cat", "dog", "fish", "bird"],
        trn_X_Y=sp.csr_matrix(clicks),
        tst_X_Y=sp.csr_matrix(np.zeros((1, 4), np.float32)),
        trn_X_Y_unbiased=sp.csr_matrix(complete),
    )


def write_jsonl(path, records) -> str:
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write((record if isinstance(record, str) else json.dumps(record)) + "\n")
    return str(path)


@pytest.fixture
def q2l_synthetic(tmp_path) -> str:
    """Synthetic labels for train queries: one empty and one duplicate text."""
    return write_jsonl(
        tmp_path / "synthetic.jsonl",
        [
            {"source": 0, "texts": ["kitty", "puppy"], "generator": "test"},
            {"source": 1, "texts": ["", "kitty"]},
            "",
            {"source": 0, "texts": [" kitty "]},
            {"source": 2, "texts": ["fishy"]},
        ],
    )
