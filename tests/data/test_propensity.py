import math

import numpy as np
import scipy.sparse as sp

from skim.data import inverse_propensity


def test_jain_et_al_formula_by_hand():
    # 4 rows; label 0 has 3 positives, label 1 has 1, label 2 none (a stored 0 is not a positive).
    rows, cols, vals = [0, 0, 1, 2, 3], [0, 1, 0, 0, 2], [1, 1, 1, 0.5, 0]
    y = sp.csr_matrix((np.array(vals, np.float32), (rows, cols)), shape=(4, 3))
    assert y.nnz == 5
    a, b = 0.55, 1.5
    c = (math.log(4) - 1) * (b + 1) ** a
    expected = [1 + c * (3 + b) ** -a, 1 + c * (1 + b) ** -a, 1 + c * b**-a]
    np.testing.assert_allclose(inverse_propensity(y, a, b), expected)


def test_rarer_labels_weigh_more():
    y = sp.random(1000, 50, density=0.05, random_state=0, format="csr")
    y.data[:] = 1
    w = inverse_propensity(y)
    counts = np.asarray((y > 0).sum(0)).ravel()
    order = np.argsort(counts)
    assert np.all(np.diff(w[order]) <= 1e-12)
