import numpy as np
import pytest
import scipy.sparse as sp

from skim.learners import train
from skim.learners.methods.lever import mix_targets, platt_fit, teacher_scores
from skim.modelfolder import load_model


def test_mixed_target_is_lambda_labels_plus_rest_teacher():
    labels = sp.csr_matrix(np.array([[1, 0, 0], [0, 1, 0]], np.float32))
    teacher = sp.csr_matrix(np.array([[0.8, 0.4, 0], [0, 0, 0.6]], np.float32))
    target, weight = mix_targets(labels, teacher, 0.25)
    np.testing.assert_allclose(
        target.toarray(), [[0.25 + 0.75 * 0.8, 0.75 * 0.4, 0], [0, 0.25, 0.75 * 0.6]], rtol=1e-6
    )
    np.testing.assert_allclose(weight.data, 1.0)


def test_ips_weights_only_the_labels_part_of_the_target():
    labels = sp.csr_matrix(np.array([[1, 0]], np.float32))
    teacher = sp.csr_matrix(np.array([[0.4, 0.2]], np.float32))
    target, weight = mix_targets(labels, teacher, 0.5, label_weights=np.array([3.0, 5.0]))
    # positive term: 0.5 * 3 * 1 + 0.5 * 0.4 = 1.7 on a target of 0.7; label 1 has no label part
    np.testing.assert_allclose(target.toarray(), [[0.7, 0.1]], rtol=1e-6)
    np.testing.assert_allclose((weight.multiply(target)).toarray(), [[1.7, 0.1]], rtol=1e-6)


def test_platt_fit_recovers_a_logistic_relation():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 20000)
    y = rng.random(20000) < 1 / (1 + np.exp(-(4 * x - 1)))
    a, b = platt_fit(x, y.astype(float))
    assert a == pytest.approx(4, abs=0.3) and b == pytest.approx(-1, abs=0.15)


def test_teacher_scores_are_calibrated_probabilities_rising_with_similarity():
    rng = np.random.default_rng(0)
    cos = rng.uniform(-0.5, 1.0, (400, 3)).astype(np.float32)
    observed = rng.random((400, 3)) < 1 / (1 + np.exp(-(6 * cos - 3)))
    scores, info = teacher_scores(sp.csr_matrix(cos), sp.csr_matrix(observed.astype(np.float32)))
    kept = scores.toarray()
    order = np.argsort(cos.ravel())
    assert (np.diff(kept.ravel()[order]) >= 0).all() and info["platt_a"] > 0
    assert kept.max() <= 1
    # calibrated: the mean probability matches the observed rate
    assert kept.sum() == pytest.approx(observed.sum(), rel=0.05)


@pytest.mark.parametrize("method", ["lever", "lever+ips"])
def test_lever_trains_on_the_mixed_target(tmp_path, dataset, fit_kwargs, method):
    model = train(dataset, tmp_path / "m", method=method, lever_topk=3, **fit_kwargs)
    info = load_model(model)[0]["training"]
    assert info["method"] == method and info["teacher_pairs"] > 0
    assert len(info["teacher_loss"]) == fit_kwargs["epochs"]
    # the teacher adds pairs the observed labels do not have
    assert info["pairs"] > dataset.trn_X_Y.nnz
