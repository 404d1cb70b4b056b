"""Sparse (row, column) pairs of a label matrix as sorted int64 keys, and matrix fingerprints.

A pair's key is ``row * n_cols + col``; sorted keys make "which of these pairs are known"
one binary search (:func:`contains`), with no Python loop per pair. Shared by the simulation,
the mapping, its filters and the learners' negative mining.
"""

from __future__ import annotations

import hashlib

import numpy as np
import scipy.sparse as sp

from skim.data import canonical


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


def matrix_fingerprint(matrix: sp.csr_matrix) -> str:
    """SHA-256 of a canonical CSR matrix's shape, structure and values."""
    matrix = canonical(matrix)
    digest = hashlib.sha256(f"{matrix.shape[0]}x{matrix.shape[1]}".encode())
    for part in (matrix.indptr.astype(np.int64), matrix.indices.astype(np.int64), matrix.data):
        digest.update(np.ascontiguousarray(part).tobytes())
    return digest.hexdigest()
