from __future__ import annotations

import numpy as np
import pytest

from skim.errors import SkimError
from skim.index import HnswIndex, exact_topk


def unit(n: int, d: int = 32, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_recall_against_exact_search():
    targets, queries = unit(3000), unit(200, seed=1)
    _, want = exact_topk(queries, targets, 10)
    _, got = HnswIndex(targets, M=16, ef_construction=100, ef=64).search(queries, 10)
    recall = np.mean([len(set(g) & set(w)) / 10 for g, w in zip(got, want, strict=True)])
    assert recall >= 0.98


def test_ef_is_raised_to_k():
    targets = unit(500)
    index = HnswIndex(targets, ef=1)
    scores, ids = index.search(unit(5, seed=3), 50)
    assert ids.shape == (5, 50) and len(set(ids[0])) == 50
    assert index.params() == {
        "kind": "hnsw", "M": 32, "ef_construction": 200, "ef": 1, "seed": 100, "size": 500,
    }  # fmt: skip


def test_bad_settings_and_shapes():
    with pytest.raises(SkimError, match="hnsw M must be a positive integer"):
        HnswIndex(unit(5), M=0)
    with pytest.raises(SkimError, match="do not match the index"):
        HnswIndex(unit(5)).search(unit(2, d=8), 1)
