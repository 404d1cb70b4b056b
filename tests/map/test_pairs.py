from __future__ import annotations

import numpy as np
import pytest

from skim.map.pairs import (
    PairAccumulator,
    cosine_to_score,
    hits_to_pairs,
    max_packed,
    pack,
    unpack,
)


def test_cosine_to_score_is_the_papers_normalisation():
    got = cosine_to_score(np.array([-1.0, 0.0, 0.6, 1.0, 1.0000001]))
    np.testing.assert_allclose(got, [0.0, 0.5, 0.8, 1.0, 1.0])
    assert got.dtype == np.float32


def test_hits_to_pairs_directions_and_threshold():
    sources = np.array([5, 7])
    scores = np.array([[0.9, 0.7], [0.95, 0.85]], np.float32)
    ids = np.array([[1, 2], [3, -1]])  # -1: no neighbour (faiss padding)
    rows, cols, vals = hits_to_pairs(sources, scores, ids, 0.8, "queries-to-labels")
    assert rows.tolist() == [5, 7] and cols.tolist() == [1, 3]
    np.testing.assert_allclose(vals, [0.9, 0.95])
    rows, cols, _ = hits_to_pairs(sources, scores, ids, 0.8, "labels-to-queries")
    assert rows.tolist() == [1, 3] and cols.tolist() == [5, 7]


def test_packed_max_keeps_exact_values():
    values = np.array([0.2, 0.5, 0.7, 0.1, 0.3, 1.0, 0.0, -0.0], np.float32)
    packed = max_packed(pack(np.array([4, 1, 4, 1, 9, 2**34 - 1, 5, 6]), values))
    keys, got = unpack(packed)
    assert keys.tolist() == [1, 4, 5, 6, 9, 2**34 - 1]
    assert got.tolist() == [np.float32(v) for v in (0.5, 0.7, 0.0, 0.0, 0.3, 1.0)]


@pytest.mark.parametrize(("chunks", "rows_per_block"), [(1, None), (3, None), (50, 3), (7, 1)])
def test_accumulator_matches_a_dictionary(chunks, rows_per_block):
    rng = np.random.default_rng(0)
    rows, cols = rng.integers(0, 20, 3000), rng.integers(0, 30, 3000)
    vals = rng.random(3000).astype(np.float32)
    want: dict[tuple[int, int], float] = {}
    for r, c, v in zip(rows.tolist(), cols.tolist(), vals.tolist(), strict=True):
        want[(r, c)] = max(want.get((r, c), 0.0), v)
    acc = PairAccumulator((20, 30), rows_per_block=rows_per_block)
    for part in np.array_split(np.arange(3000), chunks):
        acc.add(rows[part], cols[part], vals[part])
    matrix = acc.matrix()
    got = dict(zip(zip(*matrix.nonzero(), strict=True), matrix.data.tolist(), strict=True))
    assert got.keys() == want.keys()
    assert all(got[k] == pytest.approx(want[k]) for k in want)
    assert matrix.has_sorted_indices and matrix.shape == (20, 30)


@pytest.mark.parametrize("rows_per_block", [None, 1])
def test_accumulator_takes_chunks_without_hits(rows_per_block):
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))
    acc = PairAccumulator((3, 4), rows_per_block=rows_per_block)
    acc.add(*empty)  # a first chunk with no neighbour at or above tau
    acc.add(np.array([2, 0]), np.array([1, 3]), np.array([0.9, 0.8], np.float32))
    acc.add(*empty)  # and a last one
    matrix = acc.matrix()
    want = [[0, 0, 0, 0.8], [0, 0, 0, 0], [0, 0.9, 0, 0]]
    np.testing.assert_allclose(matrix.toarray(), want, rtol=1e-6)
    assert PairAccumulator((3, 4)).matrix().nnz == 0


def test_pair_counter_sums_weights_across_chunks():
    from skim.map.pairs import PairCounter

    counter = PairCounter((3, 4))
    counter.add(np.array([0, 2, 0]), np.array([1, 3, 1]), np.array([1, 2, 1]))
    counter.add(np.array([2, 1]), np.array([3, 0]), np.array([5, 1]))
    keys = np.array([0 * 4 + 1, 2 * 4 + 3, 1 * 4 + 0, 1 * 4 + 1])
    assert counter.counts_of(keys).tolist() == [2, 7, 1, 0]
