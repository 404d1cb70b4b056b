"""Run a generator over a dataset in shards, resumably, into one SYNTHETIC.jsonl.

While running, finished shards live in ``OUT.jsonl.shards/`` beside ``OUT.jsonl``, each written
atomically; a rerun with the same settings skips them, so a crash loses at most the shard in
flight. An item whose generator gave up on it (``ItemFailed``, e.g. an endpoint that kept
failing) is left out of its shard, and a rerun asks again for exactly those items. At the end
the shards are joined into ``OUT.jsonl`` (atomically) and a summary goes to
``OUT.manifest.json``; failed items are listed in ``OUT.failed.jsonl`` and the shard folder is
kept for the rerun, else it is removed.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from skim._io import atomic_path, check_output, write_json_atomic
from skim._log import progress_enabled
from skim.data import Dataset, as_dataset
from skim.devices import resolve_device
from skim.direction import check_direction, source_count, source_texts
from skim.errors import SkimError
from skim.generate.base import Generator, ReportsBatches, make_items
from skim.generate.params import GenerateParams
from skim.generate.registry import GENERATORS
from skim.records import manifest_path, sibling, write_records
from skim.registry import load
from skim.teach.client import ItemFailed


class GeneratorRecipe(NamedTuple):
    """:func:`make_generator`'s arguments (``name`` may be a ready generator instead): what a
    Ray actor needs to build the generator the driver built."""

    name: Any
    dataset: Any  # a Dataset, or its Ray object reference on the way to the actors
    direction: str
    model: str | None
    adapter: str | None
    no_metadata: bool
    num_return: int | None
    seed: int


def make_generator(
    name: str,
    dataset: Dataset,
    direction: str,
    model: str | None = None,
    adapter: str | None = None,
    no_metadata: bool = False,
    num_return: int | None = None,
    seed: int = 0,
    **options: Any,
) -> Generator:
    """The generator called ``name`` (see :data:`skim.generate.registry.GENERATORS`),
    configured for ``dataset`` and ``direction``."""
    entry = GENERATORS.lookup(name)
    return load(entry.build)(
        dataset,
        direction,
        model=model,
        adapter=adapter,
        no_metadata=no_metadata,
        num_return=num_return or entry.num_return,
        seed=seed,
        **options,
    )


def generate(
    dataset: Dataset | str | os.PathLike,
    out_path: str | os.PathLike,
    direction: str,
    generator: str | Generator | None = None,
    params: GenerateParams | None = None,
    *,
    items: list[int] | None = None,
    **settings: Any,
) -> dict[str, Any]:
    """Write synthetic texts for every source item of ``direction`` to ``out_path`` (JSONL).

    Parameters
    ----------
    dataset
        A :class:`~skim.data.Dataset` or its directory.
    direction
        ``queries-to-labels`` (one record per train query) or ``labels-to-queries`` (per label).
    generator
        ``extractive`` | ``hf`` | ``vllm`` | ``openai``, or a ready :class:`Generator`
        (default: ``params.generator``).
    params, **settings
        A :class:`~skim.generate.params.GenerateParams`, and any of its fields as keywords
        (``model``, ``adapter``, ``no_metadata``, ``num_return``, ``shard_size``, ``seed``,
        ``overwrite``, ``show_progress``, ``ray``), which override it; any other keyword is a
        generator-specific option (``temperature``, ``max_new_tokens``, ``batch_size``, ...).
        With ``ray`` the shards are generated in a Ray actor pool
        (:mod:`skim.generate.ray_run`): the same records, one shard per call, resumable as
        here; ``generate_seconds`` then sums the actors' seconds.
    items
        Source indices to generate for (default: all).

    Returns
    -------
    dict
        Summary: counts, timings, throughput, generator settings; also ``OUT.manifest.json``.
        A finished ``out_path`` with the same settings and items is not generated again.
    """
    if isinstance(generator, str):
        settings["generator"] = generator
    p = GenerateParams.build(params, "generate", **settings)
    check_direction(direction)
    dataset = as_dataset(dataset)
    out_path = Path(out_path)
    check_output(out_path)
    sources = _sources(dataset, direction, items)
    no_metadata = p.no_metadata
    if no_metadata is None:
        no_metadata = _model_no_metadata(p.model, p.adapter)
    started = time.time()
    gen = generator if _ready(generator) else _make(p, dataset, direction, no_metadata)
    settings = {"generator": gen.name, "direction": direction, **gen.settings}
    key = _run_key(settings, sources, _dataset_key(dataset, direction))
    manifest = manifest_path(out_path)
    if out_path.is_file() and manifest.is_file():
        previous = json.loads(manifest.read_text(encoding="utf-8"))
        if previous.get("run_key") == key and not previous.get("failed"):
            return {**previous, "generated_this_run": 0}
    shard_dir = out_path.with_name(out_path.name + ".shards")
    _prepare_shards(shard_dir, key, p.overwrite)
    shards = [sources[i : i + p.shard_size] for i in range(0, len(sources), p.shard_size)]
    make = GeneratorRecipe(generator if _ready(generator) else p.generator, dataset, direction,
                           p.model, p.adapter, no_metadata, p.num_return, p.seed)  # fmt: skip
    run = _run_shards(gen, make, shards, shard_dir, p)
    failed_path = sibling(out_path, ".failed.jsonl")
    _join_shards(out_path, shard_dir, len(shards))
    if run.failures:
        run.failures.sort(key=lambda f: f["source"])
        write_records(failed_path, run.failures)
    else:
        failed_path.unlink(missing_ok=True)
        shutil.rmtree(shard_dir)
    summary = {"out": str(out_path), **settings, **run.summary()}
    summary.update(
        failed_path=str(failed_path) if run.failures else None,
        seconds=round(time.time() - started, 3),
        run_key=key,
        **run.tokens(gen),
    )
    write_json_atomic(manifest, summary)
    return summary


def _ready(generator: str | Generator | None) -> bool:
    return generator is not None and not isinstance(generator, str)


def _make(p: GenerateParams, dataset: Dataset, direction: str, no_metadata: bool) -> Generator:
    """The generator ``p`` names, configured (see :func:`make_generator`): the device goes to
    a generator that runs a torch model here (``GeneratorEntry.device``); vllm on Ray keeps only
    its settings and tokenizer here (its engines run on the cluster)."""
    options = dict(p.options)
    if p.device is not None:
        device = resolve_device(p.device)
        if GENERATORS.lookup(p.generator).device:
            options["device"] = device
    if p.ray is not None and p.generator == "vllm":
        from skim.generate.ray_llm import RayVLLMGenerator

        return RayVLLMGenerator(p.model, p.adapter, direction=direction, no_metadata=no_metadata,
                                num_return=p.num_return, seed=p.seed, **options)  # fmt: skip
    return make_generator(
        p.generator, dataset, direction, p.model, p.adapter, no_metadata, p.num_return, p.seed,
        **options,
    )  # fmt: skip


def _sources(dataset: Dataset, direction: str, items: list[int] | None) -> list[int]:
    """The source indices to generate for: ``items``, checked, or every source."""
    n_sources = source_count(dataset, direction)
    sources = list(range(n_sources)) if items is None else [int(i) for i in items]
    bad = [i for i in sources if not 0 <= i < n_sources]
    if bad:
        raise SkimError(f"item {bad[0]} is out of range: {direction} has {n_sources} sources")
    return sources


@dataclass
class _Run:
    """What the shards hold after a run (records, texts, empty ones) and what it generated."""

    records: int = 0
    texts: int = 0
    empty: int = 0
    generated: int = 0
    seconds: float = 0.0
    failures: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The manifest's counts and throughput (in the manifest's order; the caller fills
        ``failed_path``, ``seconds`` and ``run_key``)."""
        seconds = self.seconds
        return {
            "items": self.records,
            "texts": self.texts,
            "texts_per_item": round(self.texts / max(1, self.records), 3),
            "items_without_texts": self.empty,
            "failed": len(self.failures),
            "failed_path": None,
            "generated_this_run": self.generated,
            "generate_seconds": round(seconds, 3),
            "items_per_second": round(self.generated / seconds, 2) if seconds else None,
            "seconds": None,
            "run_key": None,
        }

    def tokens(self, gen: Generator) -> dict[str, Any]:
        """Tokens generated and their rate, for a generator that counts them."""
        tokens = getattr(gen, "generated_tokens", None)
        if tokens is None or not self.seconds:
            return {}
        return {"generated_tokens": tokens, "tokens_per_second": round(tokens / self.seconds, 1)}

    def count(self, records: list[dict[str, Any]]) -> None:
        self.records += len(records)
        self.texts += sum(len(r["texts"]) for r in records)
        self.empty += sum(not r["texts"] for r in records)


def _run_shards(
    gen: Generator,
    make: GeneratorRecipe,
    shards: list[list[int]],
    shard_dir: Path,
    p: GenerateParams,
) -> _Run:
    """Generate every shard not finished yet, here or on Ray (``p.ray``), each written
    atomically as its texts arrive; each shard is read (a finished one) or built (a new one)
    once, and counted as it goes."""
    from tqdm.auto import tqdm

    dataset, direction, no_metadata = make.dataset, make.direction, make.no_metadata
    bar = tqdm(
        total=sum(map(len, shards)), desc=f"generate ({gen.name})", unit="item",
        disable=not progress_enabled(p.show_progress),
    )  # fmt: skip
    progress = _ShardProgress(gen, bar)
    run = _Run()
    pending: dict[int, tuple[list[int], dict[int, dict[str, Any]]]] = {}
    for number, shard in enumerate(shards):
        done = _shard_records(shard_dir / f"shard-{number:06d}.jsonl")
        todo = [source for source in shard if source not in done]
        if todo:
            pending[number] = todo, done
            if len(todo) < len(shard):  # a shard left part done: its finished items
                bar.update(len(shard) - len(todo))
        else:
            run.count([done[source] for source in shard])
            progress.shard_done(len(shard))
    todos = {number: todo for number, (todo, _) in pending.items()}
    if p.ray is None:
        results = _generate_here(gen, dataset, direction, todos, no_metadata)
    elif hasattr(gen, "generate_shards"):  # vllm: Ray Data's LLM processor
        results = gen.generate_shards(dataset, todos, no_metadata, p.ray)
    else:
        from skim.generate.ray_run import generate_on_ray

        results = generate_on_ray(gen, make, p.options, todos, p.ray)
    for number, texts, seconds in results:
        todo, done = pending.pop(number)  # written below: its records need not stay in memory
        run.seconds += seconds
        run.generated += len(todo)
        for source, synth in zip(todo, texts, strict=True):
            if isinstance(synth, ItemFailed):
                run.failures.append(_failure(source, direction, gen.name, synth))
                continue
            done[source] = {
                "source": source,
                "texts": synth,
                "direction": direction,
                "generator": gen.name,
                "settings": gen.settings,
            }
        records = [done[source] for source in shards[number] if source in done]
        write_records(shard_dir / f"shard-{number:06d}.jsonl", records)
        run.count(records)
        progress.shard_done(len(todo))
    bar.close()
    return run


def _join_shards(out_path: Path, shard_dir: Path, n_shards: int) -> None:
    """``out_path`` (atomically): the shards' lines in order, copied as they are."""
    with atomic_path(out_path) as tmp, open(tmp, "wb") as out:
        for number in range(n_shards):
            with open(shard_dir / f"shard-{number:06d}.jsonl", "rb") as handle:
                shutil.copyfileobj(handle, out)


def _generate_here(
    gen: Generator, dataset: Dataset, direction: str, todos: dict[int, list[int]], no_meta: bool
) -> Iterator[tuple[int, list, float]]:
    """Generate each shard's items in this process: ``(shard number, texts, seconds)``."""
    for number, todo in todos.items():
        tick = time.time()
        texts = gen.generate(make_items(dataset, direction, todo, no_meta))
        yield number, texts, time.time() - tick


def _shard_records(path: Path) -> dict[int, dict[str, Any]]:
    """The records of a finished shard by source ({} when it was never written)."""
    if not path.is_file():
        return {}
    with open(path, encoding="utf-8") as handle:
        return {record["source"]: record for record in map(json.loads, handle)}


def _failure(source: int, direction: str, generator: str, exc: ItemFailed) -> dict[str, Any]:
    """A line of ``OUT.failed.jsonl``: which item, and why its last attempt failed."""
    return {
        "source": source,
        "direction": direction,
        "generator": generator,
        "error": str(exc),
        "attempts": exc.attempts,
    }


class _ShardProgress:
    """Moves the bar per finished batch for a generator that reports them
    (:class:`~skim.generate.base.ReportsBatches`), else per shard."""

    def __init__(self, gen: Generator, bar: Any) -> None:
        self.bar, self.moved = bar, 0
        if isinstance(gen, ReportsBatches):
            gen.progress = self.batch

    def batch(self, n: int) -> None:
        self.moved += n
        self.bar.update(n)

    def shard_done(self, n: int) -> None:
        """A shard of ``n`` items is finished: move what its batches did not."""
        self.bar.update(n - self.moved)
        self.moved = 0


def _model_no_metadata(model: str | None, adapter: str | None) -> bool:
    from skim.distill.model import read_manifest

    for path in (adapter, model):
        manifest = read_manifest(path) if path and Path(path).is_dir() else None
        if manifest is not None:
            return bool(manifest.get("no_metadata", False))
    return False


def _dataset_key(dataset: Dataset, direction: str) -> str:
    """A hash of what generators read: source and target texts, metadata, observed pairs."""
    import hashlib

    from skim._io import texts_fingerprint

    texts, meta = source_texts(dataset, direction)
    digest = hashlib.sha256()
    for part in (texts, meta or [], dataset.label_texts, dataset.trn_texts):
        digest.update(texts_fingerprint(part).encode())
    observed = dataset.trn_X_Y.tocsr()
    digest.update(observed.indptr.tobytes() + observed.indices.tobytes())
    return digest.hexdigest()


def _run_key(settings: dict[str, Any], sources: list[int], data_key: str) -> str:
    """A hash of what decides the output: the data, the generator's settings and the items."""
    import hashlib

    text = json.dumps(
        {"settings": settings, "sources": sources, "data": data_key}, sort_keys=True, default=str
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _prepare_shards(shard_dir: Path, key: str, overwrite: bool) -> None:
    """Create the shard folder, or check that the one left by a crash is for the same run."""
    stamp = shard_dir / "run.json"
    if shard_dir.is_dir():
        try:
            previous = json.loads(stamp.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            previous = None
        if previous == {"run_key": key}:
            return
        if not overwrite:
            raise SkimError(
                f"{shard_dir} holds shards of a run with other settings or items; rerun with "
                "the same settings, or pass --overwrite to discard them"
            )
        shutil.rmtree(shard_dir)
    shard_dir.mkdir(parents=True)
    write_json_atomic(stamp, {"run_key": key})
