import numpy as np
import pytest

from skim.errors import SkimError
from skim.index import ExactIndex, exact_topk
from skim.index import exact as exact_module


def test_matches_full_sort(monkeypatch):
    rng = np.random.default_rng(0)
    q = rng.standard_normal((57, 8)).astype(np.float32)
    t = rng.standard_normal((301, 8)).astype(np.float32)
    # force many small blocks so the running top-k merge across target chunks is exercised
    monkeypatch.setattr(exact_module, "_BLOCK_ELEMENTS", 2048)
    scores, ids = exact_topk(q, t, 7)
    full = q @ t.T
    expected = np.argsort(-full, axis=1)[:, :7]
    np.testing.assert_array_equal(ids, expected)
    np.testing.assert_allclose(scores, np.take_along_axis(full, expected, 1), rtol=1e-5)


def test_k_larger_than_targets_and_empty_inputs():
    t = np.eye(3, dtype=np.float32)
    scores, ids = ExactIndex(t).search(np.eye(3, dtype=np.float32)[:1], 10)
    assert ids.shape == (1, 3) and ids[0, 0] == 0 and scores[0, 0] == 1.0
    scores, ids = exact_topk(np.zeros((0, 3), np.float32), t, 2)
    assert scores.shape == (0, 2)


def test_dimension_mismatch():
    with pytest.raises(SkimError, match="do not match"):
        exact_topk(np.zeros((2, 3)), np.zeros((4, 5)), 1)
