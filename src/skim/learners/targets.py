"""The training points and targets a learner fits: the contract between methods and learners.

A method (:mod:`skim.learners.methods`) turns a dataset and its training labels into a
:class:`TrainingSet`; a learner only reads the set, so a new method needs no learner change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from skim.errors import SkimError


@dataclass
class TrainingSet:
    """Training points with soft targets and optional per-pair positive weights.

    The one-vs-all loss of a point with scores ``s`` is, per label,
    ``-(w * t * log sigmoid(s) + (1 - t) * log(1 - sigmoid(s)))``; unstored targets are 0
    and unstored weights 1. The dual encoder samples a point's positive in proportion to
    ``t`` and multiplies that pair's loss by ``w``.

    Attributes
    ----------
    texts
        One text per training point (train queries, then any extra points).
    targets
        ``n_points x L`` CSR of soft targets in [0, 1].
    pos_weight
        None (all 1) or a CSR with the same sparsity pattern as ``targets``.
    query_rows
        How many leading points are the dataset's train queries (the rest are extra points).
    info
        What the method did (counts, settings), recorded in the model's JSON.
    """

    texts: list[str]
    targets: sp.csr_matrix
    pos_weight: sp.csr_matrix | None = None
    query_rows: int = 0
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.targets = sp.csr_matrix(self.targets, dtype=np.float32)
        self.targets.sum_duplicates()
        self.targets.sort_indices()
        if self.targets.shape[0] != len(self.texts):
            raise SkimError(
                f"targets have {self.targets.shape[0]} rows but there are {len(self.texts)} texts"
            )
        if self.pos_weight is not None:
            weight = sp.csr_matrix(self.pos_weight, dtype=np.float32)
            weight.sort_indices()
            same = weight.shape == self.targets.shape and (
                np.array_equal(weight.indptr, self.targets.indptr)
                and np.array_equal(weight.indices, self.targets.indices)
            )
            if not same:
                raise SkimError("pos_weight must have the same stored entries as targets")
            self.pos_weight = weight
        if not self.query_rows:
            self.query_rows = len(self.texts)

    @property
    def n_labels(self) -> int:
        return int(self.targets.shape[1])

    def weight_data(self) -> np.ndarray:
        """Positive weight of every stored target, aligned with ``targets.data``."""
        if self.pos_weight is None:
            return np.ones_like(self.targets.data)
        return self.pos_weight.data


def dense_rows(matrix: sp.csr_matrix, rows: np.ndarray, data: np.ndarray | None = None):
    """Rows of a CSR matrix as a dense float32 torch tensor (``data`` replaces its values).

    Only a batch is densified, never the whole ``N x L`` matrix.
    """
    import torch

    if data is not None:
        matrix = sp.csr_matrix((data, matrix.indices, matrix.indptr), shape=matrix.shape)
    return torch.from_numpy(matrix[rows].toarray().astype(np.float32, copy=False))
