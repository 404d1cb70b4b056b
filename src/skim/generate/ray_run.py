"""SKIM step 1 on Ray: the generators' shards in a Ray Data actor pool.

:func:`skim.generate.generate` keeps its shards, its resume and its output; only the call that
turns a shard's items into texts moves to the cluster. Each actor builds the generator once
(for ``hf``: loads the model once, on its GPU when it reserves one) and is handed one shard per
call, so a generator sees exactly the item groups it sees in one process: ``hf`` seeds its
sampler from the shard's first item and batches within the shard, and the records come out
the same. The driver writes each shard file as its result arrives, so a run stopped half way
resumes from the shards already written.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from skim.errors import SkimError
from skim.generate.base import make_items
from skim.scale.cluster import RayOptions, connect, quiet_data_context

if TYPE_CHECKING:
    from skim.generate.run import GeneratorRecipe

RAY_GENERATORS = ("extractive", "hf")


class _Generating:
    """An actor of the pool: builds the generator once, then generates one shard per call."""

    def __init__(self, make: GeneratorRecipe, options: dict) -> None:
        import ray

        from skim.generate.run import make_generator

        if isinstance(make.dataset, ray.ObjectRef):
            make = make._replace(dataset=ray.get(make.dataset))
        self.dataset, self.direction, self.no_metadata = (
            make.dataset,
            make.direction,
            make.no_metadata,
        )
        self.gen = make_generator(*make, **options)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        shards, texts, seconds, tokens = [], [], [], []
        for number, todo in zip(batch["shard"], batch["sources"], strict=True):
            before = getattr(self.gen, "generated_tokens", 0)
            tick = time.perf_counter()
            items = make_items(self.dataset, self.direction, [int(s) for s in todo],
                               self.no_metadata)  # fmt: skip
            texts.append(json.dumps(self.gen.generate(items)))
            seconds.append(time.perf_counter() - tick)
            tokens.append(getattr(self.gen, "generated_tokens", 0) - before)
            shards.append(int(number))
        return {
            "shard": np.asarray(shards, np.int64),
            "texts": np.asarray(texts, dtype=object),
            "seconds": np.asarray(seconds),
            "tokens": np.asarray(tokens, np.int64),
        }


def generate_on_ray(
    gen,
    make: GeneratorRecipe,
    options: dict[str, Any],
    todos: dict[int, list[int]],
    ray_options: RayOptions,
) -> Iterator[tuple[int, list[list[str]], float]]:
    """Generate every shard of ``todos`` (shard number -> sources) on the cluster.

    Each actor builds from ``make`` the generator the driver built (``gen``, whose
    ``generated_tokens`` gains the actors' tokens). Yields ``(shard number, texts per source,
    actor seconds)`` as shards finish, in any order.
    """
    if not isinstance(make.name, str) or make.name not in RAY_GENERATORS:
        raise SkimError(
            f"generation on Ray runs the {' and '.join(RAY_GENERATORS)} generators by name, "
            f"not {getattr(make.name, 'name', make.name)!r}"
        )
    if not todos:
        return
    ray = connect(ray_options.address)
    quiet_data_context(ray)
    make = make._replace(dataset=ray.put(make.dataset))  # the dataset once, not per actor
    rows = [{"shard": number, "sources": todo} for number, todo in todos.items()]
    results = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
        _Generating,
        batch_size=1,  # one shard per call: the item groups of one process
        batch_format="numpy",
        fn_constructor_kwargs={"make": make, "options": options},
        **ray_options.pool(wants_gpu=make.name == "hf", blocks=len(rows)),
    )
    for batch in results.iter_batches(batch_size=None, batch_format="numpy"):
        for number, texts, seconds, tokens in zip(
            batch["shard"], batch["texts"], batch["seconds"], batch["tokens"], strict=True
        ):
            if hasattr(gen, "generated_tokens"):
                gen.generated_tokens += int(tokens)
            yield int(number), json.loads(texts), float(seconds)
