"""Vectorised aggregation of neighbour hits into a (train query x label) score matrix.

Every synthetic text proposes its top-k neighbours; a (query, label) pair keeps the maximum
score over all the texts that propose it. Hits are reduced with numpy sorts, never a Python
loop per source, and merged across chunks with amortised cost.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

LABELS_TO_QUERIES = "labels-to-queries"
QUERIES_TO_LABELS = "queries-to-labels"
DIRECTIONS = (LABELS_TO_QUERIES, QUERIES_TO_LABELS)


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
    keep = (scores >= np.float32(tau)) & (ids >= 0)
    src = np.broadcast_to(np.asarray(sources, dtype=np.int64)[:, None], ids.shape)[keep]
    tgt = ids[keep].astype(np.int64)
    if direction == QUERIES_TO_LABELS:
        return src, tgt, scores[keep]
    return tgt, src, scores[keep]


def max_by_key(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct ``keys`` and the maximum of ``values`` over each key's occurrences."""
    if len(keys) == 0:
        return keys.astype(np.int64), values.astype(np.float32)
    order = np.argsort(keys, kind="stable")
    keys, values = keys[order], values[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return keys[starts], np.maximum.reduceat(values, starts)


class PairAccumulator:
    """Max-aggregates (row, col, score) triples chunk by chunk into an ``shape`` matrix.

    Pending chunks are merged once they outgrow what is already merged, so the total cost is
    O(h log h) for h hits and memory stays within twice the number of distinct pairs plus one
    chunk.
    """

    def __init__(self, shape: tuple[int, int]) -> None:
        self.shape = (int(shape[0]), int(shape[1]))
        self._keys = np.zeros(0, np.int64)
        self._values = np.zeros(0, np.float32)
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._pending_size = 0

    def add(self, rows: np.ndarray, cols: np.ndarray, values: np.ndarray) -> None:
        """Add triples (duplicates allowed; the maximum wins)."""
        keys = np.asarray(rows, np.int64) * self.shape[1] + np.asarray(cols, np.int64)
        keys, values = max_by_key(keys, np.asarray(values, np.float32))
        self._pending.append((keys, values))
        self._pending_size += len(keys)
        if self._pending_size > len(self._keys):
            self._merge()

    def _merge(self) -> None:
        if not self._pending:
            return
        keys = np.concatenate([self._keys, *(k for k, _ in self._pending)])
        values = np.concatenate([self._values, *(v for _, v in self._pending)])
        self._keys, self._values = max_by_key(keys, values)
        self._pending, self._pending_size = [], 0

    def matrix(self) -> sp.csr_matrix:
        """The aggregated float32 CSR matrix (sorted indices, one entry per pair)."""
        self._merge()
        rows, cols = np.divmod(self._keys, self.shape[1])
        indptr = np.zeros(self.shape[0] + 1, np.int64)
        np.cumsum(np.bincount(rows, minlength=self.shape[0]), out=indptr[1:])
        return sp.csr_matrix((self._values.copy(), cols, indptr), shape=self.shape)


def pair_keys(matrix: sp.csr_matrix) -> np.ndarray:
    """``row * n_cols + col`` of every nonzero entry, in CSR order (sorted for canonical CSR)."""
    rows = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
    keys = rows * matrix.shape[1] + matrix.indices.astype(np.int64)
    return keys[matrix.data != 0]


def contains(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Boolean mask: which ``keys`` occur in the sorted array ``sorted_keys``."""
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[pos] == keys
