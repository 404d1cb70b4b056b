"""SKIM step 2 on Ray: encode and search in an actor pool, reduce on the driver as before.

The driver reads SYNTHETIC.jsonl in the same chunks as :func:`skim.map.propose_pairs` and puts
each chunk in the object store as one block as it reads it, keeping only the sources and
counts (16 bytes a text). Actors load the encoder once and receive the target index
once through the object store (an hnswlib or exact index is shipped as built; a faiss index,
which does not pickle, is rebuilt per actor from the shared vectors). Each actor encodes its
chunk with :func:`skim.encode.encode_texts` (so the embedding cache works as before) and
searches it; the driver puts the chunks back in their order and runs the single-process
reduction, so the mapping matrix and the manifest's counts and examples are the same.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator

import numpy as np

from skim.encode import TextEncoder, encode_texts, resolve_encoder
from skim.index import build_index
from skim.scale.cluster import RayOptions, connect, quiet_data_context

Chunk = tuple[np.ndarray, list[str], np.ndarray]
"""(source per text, texts, times each text occurred): what SyntheticFile.counted_chunks yields."""


class _Encoder:
    """An actor of the pool: loads the encoder (and the index) once, then serves batches."""

    def __init__(self, encoder, device, cache_dir, index=None, topk=0, threads=1):
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
        if self.index is None:
            out["vector"] = vectors
        else:
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

    if shared is None:
        return None
    if shared[0] == "build":
        _, vectors, kind, params = shared
        return build_index(ray.get(vectors), kind=kind, **params)
    index = ray.get(shared[1])
    if getattr(index, "num_threads", None) == -1:  # all cores: one actor's share instead
        index.num_threads = max(1, int(threads))
    return index


def _put_chunk(number: int, texts: list[str]):
    """One chunk as a block in the object store (columns chunk, row, text): off the driver's
    heap, and spilled to disk by Ray when the store is full."""
    import pandas as pd
    import ray

    return ray.put(pd.DataFrame({"chunk": number, "row": np.arange(len(texts)), "text": texts}))


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


def _run_pool(blocks: list, sizes: list[int], options: RayOptions, worker_kwargs: dict,
              progress: bool) -> Iterator:  # fmt: skip
    """Map every block (chunk) through the actor pool; yield ``(chunk number, columns)`` in
    the chunks' order."""
    ray = connect(options.address)
    quiet_data_context(ray)
    encoder = worker_kwargs["encoder"]
    if encoder is not None and not isinstance(encoder, (str, os.PathLike)):
        worker_kwargs = dict(worker_kwargs, encoder=ray.put(encoder))  # once, not per actor
    results = ray.data.from_pandas_refs(blocks).map_batches(
        _Encoder,
        batch_size=None,  # a whole block (= one chunk) per call, as in one process
        batch_format="numpy",
        fn_constructor_kwargs=dict(worker_kwargs, threads=options.cpus_per_actor),
        **options.pool(wants_gpu=True, blocks=len(blocks)),
    )
    sizes = dict(enumerate(sizes))
    parts: dict[int, list[dict]] = {}
    got = dict.fromkeys(sizes, 0)
    following = 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=sum(sizes.values()), unit="text", desc="map on ray")
    for batch in results.iter_batches(batch_size=None, batch_format="numpy"):
        for number in np.unique(batch["chunk"]):
            mine = batch["chunk"] == number
            parts.setdefault(int(number), []).append({k: v[mine] for k, v in batch.items()})
            got[int(number)] += int(mine.sum())
        if bar is not None:
            bar.update(len(batch["chunk"]))
        while following in sizes and got[following] == sizes[following]:
            yield following, _joined(parts.pop(following))
            following += 1
    if bar is not None:
        bar.close()


def _joined(parts: list[dict]) -> dict[str, np.ndarray]:
    """One chunk's columns from its pieces, in row order."""
    columns = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    order = np.argsort(columns["row"], kind="stable")
    return {key: value[order] for key, value in columns.items()}


def encode_on_ray(
    encoder: TextEncoder | str | None,
    texts: list[str],
    options: RayOptions,
    cache_dir: str | os.PathLike | None = None,
    device: str | None = None,
    chunk_size: int = 32_768,
    progress: bool = False,
) -> np.ndarray:
    """L2-normalised vectors of ``texts`` (in order), encoded by the cluster's actor pool.

    Each actor encodes through the embedding cache of its machine (``cache_dir``), so texts
    it has seen before are read, not encoded.
    """
    texts = list(texts)
    connect(options.address)
    starts = range(0, len(texts), chunk_size)
    blocks = [_put_chunk(n, texts[i : i + chunk_size]) for n, i in enumerate(starts)]
    sizes = [len(texts[i : i + chunk_size]) for i in starts]
    kwargs = dict(encoder=encoder, device=device, cache_dir=_fspath(cache_dir))
    pool = _run_pool(blocks, sizes, options, kwargs, progress)
    parts = [columns["vector"] for _, columns in pool]
    return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)


def search_on_ray(
    chunks: Iterable[Chunk],
    encoder: TextEncoder | str | None,
    index,
    target_vectors: np.ndarray,
    index_kind: str,
    index_params: dict,
    topk: int,
    options: RayOptions,
    timings: dict[str, float],
    cache_dir: str | os.PathLike | None = None,
    device: str | None = None,
    progress: bool = False,
) -> Iterator[tuple[np.ndarray, list[str], np.ndarray, np.ndarray, np.ndarray]]:
    """Encode and search every chunk in the actor pool; yield what one process would.

    Yields ``(sources, texts, times, cosines, ids)`` per chunk in the chunks' order, and adds
    the actors' seconds to ``timings["encode_synthetic"]`` and ``timings["search"]`` (summed
    over actors: CPU time of the pool, not wall time).
    """
    connect(options.address)
    kept, blocks = [], []  # the driver keeps 16 bytes a text; the texts go to the store
    for number, (sources, texts, times) in enumerate(chunks):
        blocks.append(_put_chunk(number, texts))
        kept.append((sources, _StoredTexts(blocks[-1], len(texts)), times))
    shared = _share_index(index, target_vectors, index_kind, index_params)
    kwargs = dict(encoder=encoder, device=device, cache_dir=_fspath(cache_dir), index=shared,
                  topk=int(topk))  # fmt: skip
    sizes = [len(texts) for _, texts, _ in kept]
    for number, columns in _run_pool(blocks, sizes, options, kwargs, progress):
        timings["encode_synthetic"] += float(columns["t_encode"].sum())
        timings["search"] += float(columns["t_search"].sum())
        sources, texts, times = kept[number]
        kept[number] = None  # reduced: let it go
        yield sources, texts, times, columns["cos"], columns["ids"]


def _fspath(path: str | os.PathLike | None) -> str | None:
    return None if path is None else os.fspath(path)
