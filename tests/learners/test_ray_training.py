"""Training and prediction encoding on a local Ray cluster give the one-process model."""

from __future__ import annotations

import numpy as np
import torch

from skim.learners import predict, train
from skim.modelfolder import load_model
from skim.scale.cluster import RayOptions

from .conftest import FakeEncoder


def test_ova_trained_and_predicted_on_ray_equals_one_process(ray_cluster, tmp_path, dataset,
                                                             fit_kwargs):  # fmt: skip
    runs = {}
    for name, ray in (("one", None), ("ray", RayOptions(actors=2))):
        kwargs = dict(fit_kwargs, cache_dir=tmp_path / name / "cache", ray=ray)
        model = train(dataset, tmp_path / name / "m", learner="ova", **kwargs)
        scores = predict(dataset, model, k=4, encoder=FakeEncoder(), device="cpu",
                         cache_dir=tmp_path / name / "cache2", ray=ray)  # fmt: skip
        runs[name] = load_model(model)[1], scores
    (w_one, s_one), (w_ray, s_ray) = runs["one"], runs["ray"]
    assert all(torch.equal(w_one[k], w_ray[k]) for k in w_one)
    assert s_one.nnz == 4 * dataset.n_tst and (s_one != s_ray).nnz == 0
    np.testing.assert_array_equal(s_one.data, s_ray.data)
