from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from skim.pairs import contains, matrix_fingerprint, pair_keys


def test_pair_keys_and_contains_ignore_explicit_zeros():
    m = sp.csr_matrix((np.array([1, 0, 0.5], np.float32), ([0, 1, 2], [1, 0, 2])), shape=(3, 3))
    keys = pair_keys(m)
    assert keys.tolist() == [1, 8]
    assert contains(keys, np.array([8, 3, 1, 9])).tolist() == [True, False, True, False]
    assert contains(np.zeros(0, np.int64), np.array([1])).tolist() == [False]


def test_matrix_fingerprint_ignores_storage_order_but_not_values():
    a = sp.csr_matrix((np.array([1, 0.5], np.float32), ([0, 1], [1, 0])), shape=(2, 2))
    b = sp.coo_matrix((np.array([0.5, 1], np.float32), ([1, 0], [0, 1])), shape=(2, 2))
    assert matrix_fingerprint(a) == matrix_fingerprint(b.tocsr())
    assert matrix_fingerprint(a) != matrix_fingerprint(a * 2)
    assert matrix_fingerprint(a) != matrix_fingerprint(sp.csr_matrix(a, shape=(2, 3)))
