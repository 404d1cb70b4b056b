import numpy as np
import scipy.sparse as sp

from skim.data import inverse_propensity
from skim.learners import train
from skim.learners.methods.ips import ips_weights
from skim.modelfolder import load_model


def test_every_positive_gets_its_labels_inverse_propensity():
    labels = sp.csr_matrix(np.array([[1, 0, 0.5], [1, 1, 0], [1, 0, 0]], np.float32))
    inv = inverse_propensity(labels)
    weights = ips_weights(labels, inv)
    assert (weights.indptr == labels.indptr).all() and (weights.indices == labels.indices).all()
    np.testing.assert_allclose(weights.toarray(), (labels.toarray() > 0) * inv[None, :], rtol=1e-6)
    # the rarer label weighs more than the label every row has
    assert inv[1] > inv[0]


def test_ips_training_upweights_rare_labels(tmp_path, dataset, fit_kwargs):
    kwargs = {**fit_kwargs, "epochs": 20, "lr": 0.05}
    plain = load_model(train(dataset, tmp_path / "plain", **kwargs))[1]["bias"]
    ips = load_model(train(dataset, tmp_path / "ips", method="ips", **kwargs))[1]["bias"]
    # weighted positives push every label's bias up
    assert (ips > plain).all()
    assert load_model(tmp_path / "ips")[0]["training"]["method"] == "ips"
