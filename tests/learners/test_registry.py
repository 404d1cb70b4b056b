"""A new learner is one module with fit and topk, and one registration: nothing else changes."""

import numpy as np
import pytest
import torch

from skim.learners import predict, train
from skim.learners.registry import LEARNERS, LearnerEntry
from skim.modelfolder import load_model


class Centroids(torch.nn.Module):
    """A toy learner: each label is the mean of its positive queries' embeddings."""

    def __init__(self, centroids: torch.Tensor) -> None:
        super().__init__()
        self.centroids = torch.nn.Parameter(centroids, requires_grad=False)


def fit_centroids(inputs, label_inputs, training, params, device, show_progress):
    queries = torch.from_numpy(inputs.all())
    targets = torch.from_numpy(training.targets.toarray()).float()
    sums = targets.T @ queries
    return Centroids(sums / targets.sum(0).clamp(min=1)[:, None]), [0.0]


def topk_centroids(config, tensors, params, queries, label_vectors, k, device):
    scores = queries @ tensors["centroids"].numpy().T
    ids = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return (np.take_along_axis(scores, ids, axis=1) + 1) / 2, ids


@pytest.fixture
def centroid():
    LEARNERS.register("centroid", LearnerEntry(fit_centroids, topk_centroids, 1.0, "toy"))
    yield
    LEARNERS.unregister("centroid")


def test_a_registered_learner_trains_saves_and_predicts(
    centroid, tmp_path, dataset, encoder, fit_kwargs
):
    model = train(dataset, tmp_path / "m", learner="centroid", **fit_kwargs)
    config, tensors = load_model(model)
    assert config["learner"] == "centroid" and config["params"]["lr"] == 1.0  # its default
    expected = dataset.trn_X_Y.T @ encoder.encode(dataset.trn_texts)
    counts = np.maximum(np.asarray(dataset.trn_X_Y.sum(0)).ravel(), 1)[:, None]
    np.testing.assert_allclose(tensors["centroids"].numpy(), expected / counts, atol=1e-5)
    scores = predict(dataset, model, k=2, encoder=encoder, cache_dir=fit_kwargs["cache_dir"])
    assert scores.shape == (dataset.n_tst, dataset.n_labels)
    assert (np.diff(scores.indptr) == 2).all()
    best = (encoder.encode(dataset.tst_texts) @ tensors["centroids"].numpy().T).argmax(1)
    assert (np.asarray(scores.argmax(1)).ravel() == best).all()


def test_an_unregistered_learner_is_refused_by_name(tmp_path, dataset, fit_kwargs):
    from skim.errors import SkimError

    with pytest.raises(SkimError, match="unknown learner 'centroid'; choose one of ova, dual"):
        train(dataset, tmp_path / "m", learner="centroid", **fit_kwargs)
