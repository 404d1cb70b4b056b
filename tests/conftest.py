"""Shared fixtures: a tiny, hand-checkable dataset and a fake deterministic encoder."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from skim.data import Dataset

ROOT = Path(__file__).resolve().parents[1]


class HashEncoder:
    """Deterministic stand-in for a sentence encoder: unit vectors seeded by the text's hash."""

    def __init__(self, dim: int = 16) -> None:
        self.dim = dim
        self.id = f"hash-{dim}"
        self.calls = 0
        self.seen: list[list[str]] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        self.seen.append(list(texts))
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
            v = np.random.default_rng(seed).standard_normal(self.dim)
            rows.append(v / np.linalg.norm(v))
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), self.dim)


@pytest.fixture
def hash_encoder() -> HashEncoder:
    return HashEncoder()


@pytest.fixture
def tiny_dataset() -> Dataset:
    """3 train queries, 2 test queries, 4 labels, with metadata, unbiased labels and filters."""
    return Dataset(
        trn_texts=["exon", "intron\twith tab", "gene"],
        tst_texts=["codon", "back\\slash\nnewline"],
        label_texts=["sequence", "nucleic acid", "unit", "part"],
        trn_X_Y=sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0.5, 0]], np.float32)),
        tst_X_Y=sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 0, 0, 1]], np.float32)),
        trn_X_Y_unbiased=sp.csr_matrix(
            np.array([[1, 1, 0, 0], [0, 1, 0, 1], [0, 0, 1, 0]], np.float32)
        ),
        tst_X_Y_unbiased=sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 1, 0, 1]], np.float32)),
        trn_meta=["a coding segment of DNA", "a non-coding segment", "a unit of heredity"],
        tst_meta=["three nucleotides", ""],
        label_meta=["a series", "an acid", "a single thing", "a portion"],
        trn_filter=np.array([[2, 3]]),
        tst_filter=np.array([[1, 2]]),
        info={"name": "tiny", "propensity": {"A": 0.5, "B": 1.0}},
    )


@pytest.fixture(scope="session")
def ray_cluster():
    """A 2-CPU Ray instance on this machine, started once for the whole run (the Ray tests of
    every folder share it); skipped, with the reason, without the ray extra."""
    ray = pytest.importorskip("ray", reason="the Ray tests need the ray extra (pip install ray)")
    pytest.importorskip("ray.data", reason="the Ray tests need ray[data]")
    if ray.is_initialized():
        yield ray
        return
    # the workers import skim and the tests' fake encoders from this checkout
    path = os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")])
    ray.init(
        num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": path, "TOKENIZERS_PARALLELISM": "false"}},
    )  # fmt: skip
    yield ray
    ray.shutdown()
