"""Label propensities of Jain et al. (2016), used by PSP metrics and IPS training."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

DEFAULT_A = 0.55
DEFAULT_B = 1.5


def inverse_propensity(
    train_labels: sp.spmatrix | sp.sparray, a: float = DEFAULT_A, b: float = DEFAULT_B
) -> np.ndarray:
    """Inverse propensity ``w_l = 1 + C (n_l + B)^-A`` of every label.

    ``C = (ln N - 1)(B + 1)^A`` with N the number of train rows and ``n_l`` the number of
    train rows where label ``l`` is stored (any value > 0 counts as a positive).
    """
    matrix = sp.csr_matrix(train_labels)
    n_rows = matrix.shape[0]
    positives = matrix.indices[matrix.data > 0]
    counts = np.bincount(positives, minlength=matrix.shape[1]).astype(np.float64)
    c = (np.log(n_rows) - 1.0) * (b + 1.0) ** a
    return 1.0 + c * (counts + b) ** (-a)
