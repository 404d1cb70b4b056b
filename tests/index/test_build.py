from __future__ import annotations

import numpy as np
import pytest

from skim.errors import SkimError
from skim.index import AUTO_EXACT_MAX, ExactIndex, HnswIndex, build_index, resolve_kind


def unit(n: int, d: int = 16, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_auto_is_exact_for_small_target_sets_and_hnsw_above():
    assert resolve_kind("auto", AUTO_EXACT_MAX) == "exact"
    assert resolve_kind("auto", AUTO_EXACT_MAX + 1) == "hnsw"
    assert resolve_kind("faiss", 10) == "faiss"
    assert isinstance(build_index(unit(50)), ExactIndex)


def test_auto_accepts_settings_meant_for_the_other_kinds():
    index = build_index(unit(50), kind="auto", M=8, ef=20)  # hnsw settings, exact chosen
    assert index.params() == {"kind": "exact", "size": 50}
    hnsw = build_index(unit(50), kind="hnsw", M=8, ef=20, ef_construction=40)
    assert isinstance(hnsw, HnswIndex) and hnsw.params()["M"] == 8 and len(hnsw) == 50


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("annoy", {}, "unknown index 'annoy'; choose one of auto, exact, hnsw, faiss"),
        ("exact", {"ef": 10}, "index 'exact' does not take ef; it takes device"),
        ("hnsw", {"nprobe": 4}, "index 'hnsw' does not take nprobe"),
    ],
)
def test_bad_kind_or_setting(kind, params, message):
    with pytest.raises(SkimError, match=message):
        build_index(unit(10), kind=kind, **params)


@pytest.mark.parametrize("kind", ["exact", "hnsw", "faiss"])
def test_every_kind_has_the_same_interface(kind):
    if kind == "faiss":
        pytest.importorskip("faiss")
    targets = unit(300, seed=1)
    index = build_index(targets, kind=kind)
    queries = targets[:20] + 0.05 * unit(20, seed=2)
    scores, ids = index.search(queries, 5)
    assert scores.shape == ids.shape == (20, 5)
    assert scores.dtype == np.float32 and ids.dtype == np.int64
    assert (ids[:, 0] == np.arange(20)).all()  # each query's own target comes first
    exact = queries @ targets.T
    np.testing.assert_allclose(scores, np.take_along_axis(exact, ids, 1), atol=1e-5)
    assert (np.diff(scores, axis=1) <= 1e-6).all()  # best first
    assert len(index) == 300 and index.params()["kind"] == kind
    # k above the number of targets is clamped, no queries gives empty results
    small = build_index(targets[:3], kind=kind)
    assert small.search(queries, 10)[1].shape == (20, 3)
    assert index.search(np.zeros((0, 16), np.float32), 5)[0].shape == (0, 5)


def test_hnsw_graph_is_cached_and_reused(tmp_path, monkeypatch):
    targets, queries = unit(400, seed=4), unit(30, seed=5)
    first = build_index(targets, kind="hnsw", cache_dir=tmp_path, M=8)
    saved = list((tmp_path / "index").glob("hnsw-*.bin"))
    assert len(saved) == 1

    def no_build(*args, **kwargs):
        raise AssertionError("the graph was rebuilt")

    monkeypatch.setattr("hnswlib.Index.add_items", no_build)
    again = build_index(targets, kind="hnsw", cache_dir=tmp_path, M=8, ef=40)
    np.testing.assert_array_equal(again.search(queries, 5)[1], first.search(queries, 5)[1])
    assert again.params()["ef"] == 40
    monkeypatch.undo()
    build_index(targets, kind="hnsw", cache_dir=tmp_path, M=12)  # other graph settings
    build_index(targets[:300], kind="hnsw", cache_dir=tmp_path, M=8)  # other vectors
    assert len(list((tmp_path / "index").glob("hnsw-*.bin"))) == 3
    saved[0].write_bytes(b"broken")
    rebuilt = build_index(targets, kind="hnsw", cache_dir=tmp_path, M=8)
    assert len(rebuilt) == 400 and saved[0].stat().st_size > 100


def test_a_registered_index_kind_is_built_by_build_index():
    from skim.index.build import INDEX_KINDS, IndexEntry

    class Reversed(ExactIndex):
        kind = "reversed"

    INDEX_KINDS.register("reversed", IndexEntry(Reversed, frozenset({"device"}), "a toy"))
    try:
        index = build_index(np.eye(3, dtype=np.float32), "reversed", device="cpu")
        assert isinstance(index, Reversed) and index.search(np.eye(3, dtype=np.float32)[:1], 1)[
            1
        ].tolist() == [[0]]
        with pytest.raises(SkimError, match="index 'reversed' does not take M"):
            build_index(np.eye(3, dtype=np.float32), "reversed", M=4)
    finally:
        INDEX_KINDS.unregister("reversed")
