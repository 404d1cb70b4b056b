import numpy as np
import pytest
import torch

from skim.learners.features import FrozenInputs
from skim.learners.ova import OvaNet, fit_ova, ova_loss
from skim.learners.params import TrainParams
from skim.learners.targets import TrainingSet


def _grad(logits: np.ndarray, targets: np.ndarray, positive: np.ndarray | None = None):
    s = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    t = torch.tensor(targets, dtype=torch.float64)
    p = None if positive is None else torch.tensor(positive, dtype=torch.float64)
    ova_loss(s, t, p).backward()
    return s.grad.numpy()


def test_soft_targets_give_the_bce_gradient_of_the_soft_value():
    logits = np.array([[0.5, -1.0, 2.0]])
    soft = np.array([[0.3, 0.0, 0.9]])
    sigma = 1 / (1 + np.exp(-logits))
    np.testing.assert_allclose(_grad(logits, soft), sigma - soft)
    binarised = (soft > 0).astype(float)
    assert not np.allclose(_grad(logits, soft), _grad(logits, binarised))


def test_positive_weight_scales_only_the_positive_term():
    logits = np.array([[0.5, -1.0]])
    t = np.array([[0.5, 0.0]])
    w = np.array([[4.0, 1.0]])
    sigma = 1 / (1 + np.exp(-logits))
    # d/ds of -(w t log s + (1 - t) log(1 - s)) = sigma (w t + 1 - t) - w t
    expected = sigma * (w * t + 1 - t) - w * t
    np.testing.assert_allclose(_grad(logits, t, w * t), expected)


def test_loss_is_summed_over_labels_and_averaged_over_rows():
    logits = torch.zeros(2, 3)
    assert ova_loss(logits, torch.zeros(2, 3)).item() == pytest.approx(3 * np.log(2))


def test_label_weights_start_from_label_text_embeddings():
    rng = np.random.default_rng(0)
    labels = rng.standard_normal((5, 8)).astype(np.float32)
    labels /= np.linalg.norm(labels, axis=1, keepdims=True)
    for bottleneck in (None, 12):  # a wider bottleneck is an isometry at init
        net = OvaNet(8, 5, bottleneck)
        net.init_from_labels(labels, torch.Generator().manual_seed(0))
        with torch.no_grad():
            scores = net(torch.from_numpy(labels)).numpy()
        # before any training, each label text scores its own label highest
        assert (scores.argmax(axis=1) == np.arange(5)).all()


def test_fit_lowers_the_loss_and_learns_the_labels(dataset, encoder, tmp_path):
    from skim.learners.features import embed

    vectors = embed(encoder, dataset.trn_texts, tmp_path)
    label_vectors = embed(encoder, dataset.label_texts, tmp_path)
    training = TrainingSet(dataset.trn_texts, dataset.trn_X_Y_unbiased)
    params = TrainParams(learner="ova", epochs=5, batch_size=16)
    net, history = fit_ova(FrozenInputs(vectors), label_vectors, training, params, "cpu", False)
    assert history[-1] < history[0]
    with torch.no_grad():
        scores = net(torch.from_numpy(vectors)).numpy()
    top2 = np.sort(np.argsort(-scores, axis=1)[:, :2], axis=1)
    truth = np.sort(dataset.trn_X_Y_unbiased.tolil().rows.tolist(), axis=1)
    assert (top2 == truth).mean() > 0.9
