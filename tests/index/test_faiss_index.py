from __future__ import annotations

import numpy as np
import pytest

from skim.errors import SkimError
from skim.index import FaissIndex, exact_topk


def unit(n: int, d: int = 32, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_hnsw_and_flat_agree_with_exact():
    pytest.importorskip("faiss")
    targets, queries = unit(2000), unit(100, seed=1)
    want_scores, want = exact_topk(queries, targets, 10)
    flat_scores, flat = FaissIndex(targets, factory="flat").search(queries, 10)
    assert (flat == want).mean() > 0.99
    np.testing.assert_allclose(flat_scores, want_scores, atol=1e-5)
    _, got = FaissIndex(targets, M=16, ef=64).search(queries, 10)
    recall = np.mean([len(set(g) & set(w)) / 10 for g, w in zip(got, want, strict=True)])
    assert recall >= 0.98


def test_missing_faiss_or_bad_factory(monkeypatch):
    pytest.importorskip("faiss")
    with pytest.raises(SkimError, match="factory must be 'hnsw' or 'flat'"):
        FaissIndex(unit(5), factory="ivf")
    import builtins

    real_import = builtins.__import__

    def no_faiss(name, *args, **kwargs):
        if name == "faiss":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_faiss)
    with pytest.raises(SkimError, match=r"pip install 'skim-xc\[faiss\]'"):
        FaissIndex(unit(5))
