"""Inverse propensity scoring (Jain et al. 2016; positives reweighted as in Qaraei et al. 2021)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def ips_weights(labels: sp.csr_matrix, inv_propensity: np.ndarray) -> sp.csr_matrix:
    """Per-pair positive weights: every stored pair ``(i, l)`` gets ``1 / p_l``.

    The result has the same stored entries as ``labels`` (the
    :class:`~skim.learners.targets.TrainingSet` contract); rare labels, which are the most
    likely to be missing, weigh most.
    """
    labels = sp.csr_matrix(labels, dtype=np.float32)
    labels.sort_indices()
    data = np.asarray(inv_propensity, dtype=np.float32)[labels.indices]
    return sp.csr_matrix((data, labels.indices.copy(), labels.indptr.copy()), shape=labels.shape)
