"""Vectorised aggregation of neighbour hits into a (train query x label) score matrix.

Every synthetic text proposes its top-k neighbours; a (query, label) pair keeps the maximum
score over all the texts that propose it. Hits are reduced with numpy sorts, never a Python
loop per source, and merged across chunks with amortised cost.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from skim.direction import QUERIES_TO_LABELS
from skim.pairs import contains


def cosine_to_score(cosines: np.ndarray) -> np.ndarray:
    """The paper's normalised similarity ``(cos + 1) / 2``, clipped to [0, 1], float32."""
    return np.clip((np.asarray(cosines, dtype=np.float32) + 1) / 2, 0, 1).astype(np.float32)


def hits_to_pairs(
    sources: np.ndarray, scores: np.ndarray, ids: np.ndarray, tau: float, direction: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, cols, scores) of the hits scoring at least ``tau``.

    Parameters
    ----------
    sources
        ``(n,)`` source item of each synthetic text.
    scores, ids
        ``(n, k)`` scores in [0, 1] and target ids of each text's neighbours (id -1 = none).
    direction
        ``"queries-to-labels"``: source = train query, neighbour = label, pair (source, id);
        ``"labels-to-queries"``: source = label, neighbour = train query, pair (id, source).
    """
    keep = scores >= np.float32(tau)
    if ids.size and ids.min() < 0:
        keep &= ids >= 0
    flat = np.flatnonzero(keep)  # integer gathers: several times faster than boolean masks
    src = np.asarray(sources, dtype=np.int64)[flat // max(ids.shape[1], 1)]
    tgt = np.take(np.ravel(ids), flat).astype(np.int64)
    values = np.take(np.ravel(scores), flat)
    if direction == QUERIES_TO_LABELS:
        return src, tgt, values
    return tgt, src, values


_VALUE_BITS = 30  # float32 values in [0, 1] have bit patterns below 2**30 (1.0 = 0x3F800000)
_KEY_LIMIT = 1 << (64 - _VALUE_BITS)  # local pair keys must stay below 2**34


def pack(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``key << 30 | bits(value)`` as uint64, for keys below 2**34 and values in [0, 1].

    Bit patterns of non-negative floats sort like the floats, so one (SIMD) ``np.sort`` of the
    packed words groups equal keys and puts each key's largest value last.
    """
    bits = np.abs(np.clip(values, 0, 1).astype(np.float32)).view(np.uint32)  # abs: no -0.0
    return (np.asarray(keys).astype(np.uint64) << np.uint64(_VALUE_BITS)) | bits.astype(np.uint64)


def unpack(packed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The int64 keys and float32 values of :func:`pack`."""
    keys = (packed >> np.uint64(_VALUE_BITS)).astype(np.int64)
    mask = np.uint64((1 << _VALUE_BITS) - 1)
    return keys, (packed & mask).astype(np.uint32).view(np.float32)


def max_packed(packed: np.ndarray) -> np.ndarray:
    """Sorted packed pairs, one per key: the one holding that key's maximum value."""
    packed = np.sort(packed)
    keys = packed >> np.uint64(_VALUE_BITS)
    last = np.empty(len(packed), dtype=bool)
    np.not_equal(keys[1:], keys[:-1], out=last[:-1])
    last[-1:] = True
    return packed[last]


class PairAccumulator:
    """Max-aggregates (row, col, score) triples, chunk by chunk, into a ``shape`` matrix.

    Scores must lie in [0, 1]. Rows are cut into blocks small enough that a pair's key within
    its block and its score pack into one uint64 (:func:`pack`), so aggregation is a few
    ``np.sort`` calls, about ten times faster than ``argsort``. Each block merges its pending
    chunks once they hold twice what it has merged: O(h log h) for h hits, memory within
    three times the distinct pairs plus one chunk.
    """

    def __init__(self, shape: tuple[int, int], rows_per_block: int | None = None) -> None:
        self.shape = (int(shape[0]), int(shape[1]))
        if self.shape[1] >= _KEY_LIMIT:
            raise ValueError(f"at most {_KEY_LIMIT - 1} columns, got {self.shape[1]}")
        most = max(1, min(self.shape[0], _KEY_LIMIT // max(self.shape[1], 1)))
        self.rows_per_block = min(most, rows_per_block or most)
        self._merged: dict[int, np.ndarray] = {}
        self._pending: dict[int, list[np.ndarray]] = {}

    def add(self, rows: np.ndarray, cols: np.ndarray, values: np.ndarray) -> None:
        """Add triples (duplicates allowed; the maximum wins)."""
        rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
        values = np.asarray(values, np.float32)
        if not len(rows):  # a chunk without any hit at or above tau: nothing to add
            return
        if self.rows_per_block >= self.shape[0]:  # one block: no partition needed
            blocks = np.zeros(len(rows), np.int64)
        else:
            blocks = rows // self.rows_per_block
        if len(blocks) and blocks.max() > blocks.min():
            small = blocks.astype(np.uint16) if blocks.max() < 1 << 16 else blocks
            order = np.argsort(small, kind="stable")  # radix sort for 16-bit keys
            rows, cols, values, blocks = rows[order], cols[order], values[order], blocks[order]
        starts = np.flatnonzero(np.r_[True, blocks[1:] != blocks[:-1]])
        for lo, hi in zip(starts, [*starts[1:], len(blocks)], strict=True):
            block = int(blocks[lo])
            local = (rows[lo:hi] - block * self.rows_per_block) * self.shape[1] + cols[lo:hi]
            pending = self._pending.setdefault(block, [])
            pending.append(pack(local, values[lo:hi]))
            if sum(len(p) for p in pending) > 2 * len(self._merged.get(block, ())):
                self._merge(block)

    def _merge(self, block: int) -> None:
        parts = self._pending.pop(block, [])
        if parts:
            merged = self._merged.get(block, np.zeros(0, np.uint64))
            self._merged[block] = max_packed(np.concatenate([merged, *parts]))

    def matrix(self) -> sp.csr_matrix:
        """The aggregated float32 CSR matrix (sorted indices, one entry per pair)."""
        for block in list(self._pending):
            self._merge(block)
        keys, values = [np.zeros(0, np.int64)], [np.zeros(0, np.float32)]
        for block in sorted(self._merged):
            local, vals = unpack(self._merged[block])
            if block:
                local += block * self.rows_per_block * self.shape[1]
            keys.append(local)
            values.append(vals)
        keys = np.concatenate(keys) if len(keys) > 2 else keys[-1]  # no copy for one block
        values = np.concatenate(values) if len(values) > 2 else values[-1]
        # keys are sorted: row boundaries by binary search, no division of every key
        starts = np.arange(self.shape[0] + 1, dtype=np.int64) * self.shape[1]
        indptr = np.searchsorted(keys, starts)
        cols = keys - np.repeat(starts[:-1], np.diff(indptr))
        return sp.csr_matrix((values, cols, indptr), shape=self.shape)


class PairCounter:
    """Sums integer weights per (row, col) pair, chunk by chunk, into a ``shape`` matrix.

    The votes of :func:`skim.map.map_synthetic`'s ``min_votes``: how many synthetic texts
    propose each pair. Pending chunks are merged once they hold twice what has been merged,
    so the cost stays O(h log h) for h hits.
    """

    def __init__(self, shape: tuple[int, int]) -> None:
        self.shape = (int(shape[0]), int(shape[1]))
        self._keys = np.zeros(0, np.int64)
        self._counts = np.zeros(0, np.int64)
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []

    def add(self, rows: np.ndarray, cols: np.ndarray, weights: np.ndarray) -> None:
        """Add ``weights`` to the pairs (``rows``, ``cols``); repeated pairs add up."""
        keys = np.asarray(rows, np.int64) * self.shape[1] + np.asarray(cols, np.int64)
        self._pending.append((keys, np.asarray(weights, np.int64)))
        if sum(len(k) for k, _ in self._pending) > 2 * len(self._keys):
            self._merge()

    def _merge(self) -> None:
        if not self._pending:
            return
        keys = np.concatenate([self._keys, *(k for k, _ in self._pending)])
        weights = np.concatenate([self._counts, *(w for _, w in self._pending)])
        self._keys, inverse = np.unique(keys, return_inverse=True)
        self._counts = np.bincount(inverse, weights=weights).astype(np.int64)
        self._pending = []

    def counts_of(self, keys: np.ndarray) -> np.ndarray:
        """The summed weight of each pair key ``row * n_cols + col`` (0 for pairs never added)."""
        self._merge()
        found = contains(self._keys, keys)
        out = np.zeros(len(keys), np.int64)
        out[found] = self._counts[np.searchsorted(self._keys, keys[found])]
        return out
