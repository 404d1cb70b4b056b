"""Mapping on a local Ray cluster gives the single-process matrix, counts and examples."""

from __future__ import annotations

import json

import numpy as np

from skim.map import map_synthetic
from skim.scale.cluster import RayOptions

from ..conftest import HashEncoder
from .conftest import FakeEncoder

RAY = RayOptions(actors=2)


def _same(a, b) -> bool:
    return a.shape == b.shape and (a != b).nnz == 0 and np.array_equal(a.data, b.data)


def _both(dataset, synthetic, tmp_path, make_encoder, **kwargs):
    """(matrix, manifest) in one process and on Ray, each with its own embedding cache."""
    runs = []
    for name, ray in (("one", None), ("ray", RAY)):
        runs.append(
            map_synthetic(dataset, synthetic, kwargs.pop("direction", "queries-to-labels"),
                          encoder=make_encoder(), cache_dir=tmp_path / name, ray=ray, **kwargs)
        )  # fmt: skip
    return runs


def test_hand_checked_case_with_targets_encoded_on_ray(ray_cluster, dataset, q2l_synthetic,
                                                       tmp_path):  # fmt: skip
    # 2 texts a chunk: the 4 labels (2 chunks) and the 4 texts (2 chunks) go through the pool
    (one, m_one), (many, m_ray) = _both(
        dataset, q2l_synthetic, tmp_path, FakeEncoder, topk=2, tau=0.8, chunk_size=2
    )
    assert _same(one, many) and many.nnz == 7
    for key in ("counts", "examples", "tau_estimate", "index"):
        assert m_ray[key] == m_one[key], key
    assert list((tmp_path / "ray").glob("embeddings/*/*.keys.npy"))  # the actors' cache


def test_hnsw_graph_shared_with_actors_gives_the_same_votes(ray_cluster, tmp_path):
    import scipy.sparse as sp

    from skim.data import Dataset

    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(40)]
    labels = sorted({f"{a} {b}" for a, b in rng.choice(words, (80, 2))})[:50]  # distinct
    data = Dataset(
        trn_texts=[f"q{i}" for i in range(30)], tst_texts=["t"], label_texts=labels,
        trn_X_Y=sp.csr_matrix((30, 50), dtype=np.float32),
        tst_X_Y=sp.csr_matrix((1, 50), dtype=np.float32),
    )  # fmt: skip
    path = tmp_path / "synthetic.jsonl"
    with open(path, "w") as handle:  # texts drawn from a small pool: repeats, shared pairs
        for source in range(30):
            texts = [labels[j] for j in rng.integers(0, 50, 4)] + [labels[source]]
            handle.write(json.dumps({"source": source, "texts": texts}) + "\n")
    (one, m_one), (many, m_ray) = _both(
        data, path, tmp_path, lambda: HashEncoder(dim=16), index="hnsw", topk=5, tau=0.6,
        min_votes=2, chunk_size=64,  # 50 targets: one chunk, encoded here; 150 texts: 3 chunks
        index_params={"num_threads": 1},  # a multi-threaded build differs from run to run
    )  # fmt: skip
    assert _same(one, many) and many.nnz > 30
    assert m_ray["counts"] == m_one["counts"] and m_ray["index"]["kind"] == "hnsw"
