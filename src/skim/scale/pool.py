"""One actor pool over blocks of texts, shared by every Ray path that encodes.

The driver puts each block (a chunk of texts) in the object store as it has it; the pool maps
each block through an actor class that loads its model once (:func:`map_blocks`), and the
driver gets the blocks' columns back in the blocks' order. The actor classes live with what
they compute (:mod:`skim.encode` encodes, :mod:`skim.map.ray_map` encodes and searches); this
module knows only Ray.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from skim.scale.cluster import RayOptions, connect, quiet_data_context


def put_block(number: int, texts: list[str]):
    """One block of texts in the object store (columns chunk, row, text): off the driver's
    heap, and spilled to disk by Ray when the store is full."""
    import pandas as pd
    import ray

    return ray.put(pd.DataFrame({"chunk": number, "row": np.arange(len(texts)), "text": texts}))


def map_blocks(
    blocks: list,
    sizes: list[int],
    options: RayOptions,
    actor: type,
    actor_kwargs: dict,
    progress: bool = False,
    desc: str = "encode on ray",
) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """Map every block through a pool of ``actor(**actor_kwargs, threads=...)``; yield
    ``(block number, columns)`` in the blocks' order, each block's rows in their order.

    ``actor`` is called with a whole block (one chunk, as in one process) and returns its
    ``chunk`` and ``row`` columns with its own.
    """
    ray = connect(options.address)
    quiet_data_context(ray)
    results = ray.data.from_pandas_refs(blocks).map_batches(
        actor,
        batch_size=None,  # a whole block (= one chunk) per call
        batch_format="numpy",
        fn_constructor_kwargs=dict(actor_kwargs, threads=options.cpus_per_actor),
        **options.pool(wants_gpu=True, blocks=len(blocks)),
    )
    sizes = dict(enumerate(sizes))
    parts: dict[int, list[dict]] = {}
    got = dict.fromkeys(sizes, 0)
    following = 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=sum(sizes.values()), unit="text", desc=desc)
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
    """One block's columns from its pieces, in row order."""
    columns = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    order = np.argsort(columns["row"], kind="stable")
    return {key: value[order] for key, value in columns.items()}
