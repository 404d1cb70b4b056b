"""``encode_texts(..., ray=)``: the texts the cache lacks go to the actor pool, nothing else."""

from __future__ import annotations

import numpy as np

from skim.encode import DualTextEncoder, encode_texts
from skim.scale.cluster import RayOptions

from .conftest import HashEncoder

RAY = RayOptions(actors=2)


class RefusingEncoder(HashEncoder):
    """A HashEncoder that fails if asked for one of ``refuse`` (pickled to the actors)."""

    def __init__(self, refuse: set[str]) -> None:
        super().__init__()
        self.refuse = set(refuse)

    def encode(self, texts: list[str]) -> np.ndarray:
        asked = self.refuse.intersection(texts)
        assert not asked, f"encoded again: {sorted(asked)}"
        return super().encode(texts)


def test_only_uncached_texts_go_to_the_pool_and_the_driver_caches_them(ray_cluster, tmp_path):
    cached, new = ["exon", "gene"], [f"text {i}" for i in range(7)]
    texts = [*new, "gene", *cached, new[0]]  # duplicates: rows restored as in one process
    expected = HashEncoder().encode(texts)
    encode_texts(HashEncoder(), cached, tmp_path)
    driver = RefusingEncoder(refuse=cached)
    out = encode_texts(driver, texts, tmp_path, ray=RAY)
    assert driver.calls == 0  # the actors encoded, with their own copy
    np.testing.assert_array_equal(out, expected)
    # the driver wrote the new vectors: nothing left to encode, here or on Ray
    again = encode_texts(RefusingEncoder(refuse=set(texts)), texts, tmp_path)
    np.testing.assert_array_equal(again, expected)


def test_a_projection_sends_only_its_base_to_the_pool(ray_cluster, tmp_path):
    projection = np.eye(16, dtype=np.float32)[::-1].copy()
    texts = [f"label {i}" for i in range(5)]
    here = encode_texts(DualTextEncoder(HashEncoder(), projection, "m1"), texts, tmp_path / "a")
    base = HashEncoder()
    there = encode_texts(DualTextEncoder(base, projection, "m1"), texts, tmp_path / "b", ray=RAY)
    np.testing.assert_array_equal(there, here)
    assert len(list((tmp_path / "b" / "embeddings").iterdir())) == 1  # one store: the base's
    assert base.calls == 0
