"""SKIM step 2 on Ray: encode and search in an actor pool, reduce on the driver as before.

The driver reads SYNTHETIC.jsonl in the same chunks as :func:`skim.map.propose_pairs` and puts
each chunk in the object store as one block as it reads it, keeping only the sources and
counts (16 bytes a text). Actors load the encoder once and receive the target index
once through the object store (an hnswlib or exact index is shipped as built; a faiss index,
which does not pickle, is rebuilt per actor from the shared vectors). Each actor encodes its
chunk with :func:`skim.encode.encode_texts` (so the embedding cache works as before) and
searches it; the driver puts the chunks back in their order and runs the single-process
reduction, so the mapping matrix and the manifest's counts and examples are the same. The
targets go through :func:`skim.encode.encode_texts` (``ray=``): the same pool
(:mod:`skim.scale.pool`), with the cache on the driver.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator

import numpy as np

from skim.encode import encode_texts, resolve_encoder
from skim.index import build_index
from skim.map.params import MapParams
from skim.scale.cluster import connect
from skim.scale.pool import map_blocks, put_block

Chunk = tuple[np.ndarray, list[str], np.ndarray]
"""(source per text, texts, times each text occurred): what SyntheticFile.counted_chunks yields."""


class _Encoder:
    """An actor of the pool: loads the encoder and the index once, then serves batches."""

    def __init__(self, encoder, device, cache_dir, index, topk, threads=1):
        import ray
        import torch

        torch.set_num_threads(max(1, int(threads)))
        if isinstance(encoder, ray.ObjectRef):
            encoder = ray.get(encoder)
        self.encoder = resolve_encoder(encoder, **({"device": device} if device else {}))
        if hasattr(self.encoder, "show_progress"):
            self.encoder.show_progress = False
        self.cache_dir = cache_dir
        self.topk = topk
        self.index = _receive_index(index, threads)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from skim.map.mapping import _normalise

        n = len(batch["text"])
        t0 = time.perf_counter()
        vectors = _normalise(encode_texts(self.encoder, list(batch["text"]), self.cache_dir))
        t1 = time.perf_counter()
        out = {key: batch[key] for key in ("chunk", "row")}
        out["cos"], out["ids"] = self.index.search(vectors, self.topk)
        out["t_encode"] = np.full(n, (t1 - t0) / max(n, 1))
        out["t_search"] = np.full(n, (time.perf_counter() - t1) / max(n, 1))
        return out


def _share_index(index, vectors: np.ndarray, kind: str, params: dict):
    """What the actors receive: the built index in the object store, or what rebuilds it."""
    import ray

    if index.kind == "faiss":  # faiss indexes do not pickle: each actor builds its own
        return ("build", ray.put(np.ascontiguousarray(vectors)), kind, params)
    return ("ref", ray.put(index))


def _receive_index(shared, threads: int):
    import ray

    if shared[0] == "build":
        _, vectors, kind, params = shared
        return build_index(ray.get(vectors), kind=kind, **params)
    index = ray.get(shared[1])
    if getattr(index, "num_threads", None) == -1:  # all cores: one actor's share instead
        index.num_threads = max(1, int(threads))
    return index


class _StoredTexts:
    """A chunk's texts left in the object store, fetched only if the reduction reads one (the
    manifest's examples come from the first sources only)."""

    def __init__(self, ref, size: int) -> None:
        self.ref, self.size, self._texts = ref, size, None

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i):
        if self._texts is None:
            import ray

            self._texts = ray.get(self.ref)["text"].tolist()
        return self._texts[i]


def search_on_ray(
    chunks: Iterable[Chunk],
    index,
    target_vectors: np.ndarray,
    index_params: dict,
    params: MapParams,
    timings: dict[str, float],
) -> Iterator[tuple[np.ndarray, list[str], np.ndarray, np.ndarray, np.ndarray]]:
    """Encode and search every chunk in the actor pool; yield what one process would.

    ``params`` gives the encoder, index kind, top-k, cache, device, progress bar and the
    cluster (``params.ray``). Yields ``(sources, texts, times, cosines, ids)`` per chunk in the
    chunks' order, and adds the actors' seconds to ``timings["encode_synthetic"]`` and
    ``timings["search"]`` (summed over actors: CPU time of the pool, not wall time).
    """
    encoder, options = params.encoder, params.ray
    ray = connect(options.address)
    kept, blocks = [], []  # the driver keeps 16 bytes a text; the texts go to the store
    for number, (sources, texts, times) in enumerate(chunks):
        blocks.append(put_block(number, texts))
        kept.append((sources, _StoredTexts(blocks[-1], len(texts)), times))
    shared = _share_index(index, target_vectors, params.index, index_params)
    kwargs = dict(encoder=encoder, device=params.device, cache_dir=_fspath(params.cache_dir),
                  index=shared, topk=int(params.topk))  # fmt: skip
    if encoder is not None and not isinstance(encoder, (str, os.PathLike)):
        kwargs["encoder"] = ray.put(encoder)  # once, not per actor
    sizes = [len(texts) for _, texts, _ in kept]
    pool = map_blocks(blocks, sizes, options, _Encoder, kwargs, params.progress, "map on ray")
    for number, columns in pool:
        timings["encode_synthetic"] += float(columns["t_encode"].sum())
        timings["search"] += float(columns["t_search"].sum())
        sources, texts, times = kept[number]
        kept[number] = None  # reduced: let it go
        yield sources, texts, times, columns["cos"], columns["ids"]


def _fspath(path: str | os.PathLike | None) -> str | None:
    return None if path is None else os.fspath(path)
