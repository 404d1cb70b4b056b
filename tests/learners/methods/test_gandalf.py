import numpy as np
import pytest
import scipy.sparse as sp

from skim.errors import SkimError
from skim.learners import train
from skim.learners.methods.gandalf import label_cooccurrence
from skim.modelfolder import load_model


def test_cooccurrence_is_conditional_probability_with_unit_diagonal():
    labels = sp.csr_matrix(
        np.array([[1, 1, 0, 0], [1, 0, 1, 0], [1, 1, 0, 0], [0, 0, 0, 1]], np.float32)
    )
    labels.data[0] = 0.4  # a soft value counts as a positive
    matrix = label_cooccurrence(labels, threshold=0.5).toarray()
    # P(1|0) = 2/3, P(2|0) = 1/3 dropped below 0.5, P(0|1) = 1, P(0|2) = 1
    expected = np.array([[1, 2 / 3, 0, 0], [1, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 1]], np.float32)
    np.testing.assert_allclose(matrix, expected, rtol=1e-6)


def test_gandalf_adds_one_point_per_label(tmp_path, dataset, fit_kwargs):
    model = train(dataset, tmp_path / "m", method="gandalf", **fit_kwargs)
    info = load_model(model)[0]["training"]
    assert info["points"] == dataset.n_trn + dataset.n_labels
    assert info["extra_points"] == dataset.n_labels
    assert info["pairs"] == dataset.trn_X_Y.nnz + info["augment_pairs"]


def test_oracle_trains_on_the_complete_labels(tmp_path, dataset, fit_kwargs):
    model = train(dataset, tmp_path / "m", method="oracle", **fit_kwargs)
    assert load_model(model)[0]["training"]["pairs"] == dataset.trn_X_Y_unbiased.nnz
    with pytest.raises(SkimError, match="trn_X_Y_unbiased"):
        train(dataset.replace(trn_X_Y_unbiased=None), tmp_path / "o", method="oracle", **fit_kwargs)
