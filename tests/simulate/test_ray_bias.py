"""The bias simulation encoding on a local Ray cluster gives the one-process dataset."""

from __future__ import annotations

import numpy as np

from skim.scale.cluster import RayOptions
from skim.simulate import simulate_bias
from tests.simulate.conftest import HashEncoder
from tests.simulate.test_bias import _random_dataset


def test_exposure_and_clicks_on_ray_equal_one_process(ray_cluster, tmp_path):
    ds = _random_dataset(n=80, labels=12)
    kw = dict(exposure_topk=4, click_model="sigmoid", temperature=0.3, encoder=HashEncoder())
    one = simulate_bias(ds, cache_dir=tmp_path / "one", **kw)
    many = simulate_bias(ds, cache_dir=tmp_path / "ray", ray=RayOptions(actors=2), **kw)
    for name in ("trn_X_Y", "tst_X_Y"):
        a, b = getattr(one, name), getattr(many, name)
        assert a.shape == b.shape and (a != b).nnz == 0 and np.array_equal(a.data, b.data)
    assert 0 < one.trn_X_Y.nnz < ds.trn_X_Y_unbiased.nnz  # the simulation dropped pairs
    drop = ("seconds", "encode_seconds")
    same = [{k: v for k, v in d.info["simulation"].items() if k not in drop} for d in (one, many)]
    assert same[0] == same[1]
    assert list((tmp_path / "ray").glob("embeddings/*/*.keys.npy"))  # written by the driver
