"""Gandalf (Kharbanda et al. 2024): label texts as extra training points.

Label ``i`` becomes a training point whose soft targets are its row of the label
co-occurrence matrix ``P(j | i) = |rows with i and j| / |rows with i|`` (from the training
labels, diagonal 1, entries below a threshold dropped; the paper uses 0.1).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from skim.learners.targets import TrainingSet


def label_cooccurrence(labels: sp.csr_matrix, threshold: float = 0.1) -> sp.csr_matrix:
    """``L x L`` matrix of ``P(j | i)``, unit diagonal, entries below ``threshold`` dropped."""
    binary = sp.csr_matrix(labels, dtype=np.float32, copy=True)
    binary.data = (binary.data > 0).astype(np.float32)
    binary.eliminate_zeros()
    counts = sp.csr_matrix(binary.T @ binary)
    per_label = np.asarray(binary.sum(axis=0)).ravel()
    scale = sp.diags(1.0 / np.maximum(per_label, 1.0)).astype(np.float32)
    cond = sp.csr_matrix(scale @ counts)
    cond.data[cond.data < threshold] = 0.0
    cond = cond.tolil()
    cond.setdiag(1.0)
    cond = sp.csr_matrix(cond, dtype=np.float32)
    cond.data = np.minimum(cond.data, 1.0)
    cond.eliminate_zeros()
    cond.sort_indices()
    return cond


def gandalf_training_set(ctx) -> TrainingSet:
    """Train queries with their labels, then one extra point per label text."""
    augment = label_cooccurrence(ctx.labels, ctx.params.gandalf_threshold)
    targets = sp.vstack([ctx.labels, augment], format="csr")
    info = {"extra_points": augment.shape[0], "augment_pairs": int(augment.nnz)}
    return TrainingSet(
        ctx.query_texts + list(ctx.label_texts),
        targets,
        query_rows=len(ctx.query_texts),
        info=info,
    )
