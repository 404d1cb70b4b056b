from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from skim.errors import SkimError
from skim.map.filters import keep_ranked, keep_voted, ranked_by_learner

SCORES = sp.csr_matrix(np.array([[0.9, 0.0, 0.6], [0.0, 0.8, 0.7]], np.float32))


def test_keep_voted_keeps_pairs_with_enough_votes():
    kept = keep_voted(SCORES, np.array([2, 1, 3, 1]), 2)  # votes in CSR order
    np.testing.assert_allclose(kept.toarray(), [[0.9, 0, 0], [0, 0.8, 0]])
    assert SCORES.nnz == 4  # the input is not changed


def test_keep_ranked_keeps_pairs_the_learner_ranks():
    ranked = sp.csr_matrix(np.array([[0, 1, 1], [1, 0, 1]], np.float32))
    kept = keep_ranked(SCORES, ranked)
    np.testing.assert_allclose(kept.toarray(), [[0, 0, 0.6], [0, 0, 0.7]])
    with pytest.raises(SkimError, match="agreement matrix has shape 1 x 3"):
        keep_ranked(SCORES, sp.csr_matrix((1, 3), dtype=np.float32))


def test_ranked_by_learner_names_a_folder_that_is_no_model(dataset, tmp_path):
    with pytest.raises(SkimError, match="not a trained skim model"):
        ranked_by_learner(dataset, tmp_path, 5)
