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

import inspect
import json
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skim._io import atomic_path, check_output, write_json_atomic
from skim.data import Dataset, load_dataset
from skim.distill.format import check_direction
from skim.errors import SkimError
from skim.generate.base import Generator, make_items, source_texts, target_texts
from skim.teach.client import ItemFailed
from skim.teach.items import sibling
from skim.teach.store import write_records

if TYPE_CHECKING:
    from skim.scale.cluster import RayOptions

GENERATORS = ("extractive", "hf", "vllm", "openai")


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
    """The generator called ``name``, configured for ``dataset`` and ``direction``."""
    if name == "extractive":
        from skim.generate.extractive import ExtractiveGenerator

        if no_metadata:
            raise SkimError("the extractive generator reads metadata; it cannot run --no-metadata")
        _check_options(name, ExtractiveGenerator, options)
        return ExtractiveGenerator(dataset, direction, num_return=num_return or 10, **options)
    if name in ("hf", "vllm"):
        if name == "hf":
            from skim.generate.hf import HFGenerator as cls
        else:
            from skim.generate.vllm import VLLMGenerator as cls
        _check_options(name, cls, options)
        if options.get("vocabulary") == "dataset":
            options["vocabulary_texts"] = dataset_texts(dataset)
        if options.get("constrain") == "labels":
            options["constraint_texts"] = target_texts(dataset, direction)
        return cls(
            model,
            adapter,
            direction=direction,
            no_metadata=no_metadata,
            num_return=num_return or 1,
            seed=seed,
            **options,
        )
    if name == "openai":
        from skim.generate.openai import OpenAIGenerator

        if not model:
            raise SkimError("the openai generator needs --model (the endpoint's model name)")
        if "max_new_tokens" in options:  # the endpoint calls it max_tokens
            options["max_tokens"] = options.pop("max_new_tokens")
        _check_options(name, OpenAIGenerator, options)
        return OpenAIGenerator(
            model,
            direction=direction,
            no_metadata=no_metadata,
            num_return=num_return or 10,
            seed=seed,
            **options,
        )
    raise SkimError(f"unknown generator {name!r}; choose one of {', '.join(GENERATORS)}")


def _check_options(name: str, cls: type, options: dict[str, Any]) -> None:
    """SkimError for a setting the generator does not take (e.g. --top-k for extractive)."""
    parameters = inspect.signature(cls).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    unknown = sorted(set(options) - set(parameters))
    if unknown:
        flag = "--" + unknown[0].replace("_", "-")
        raise SkimError(f"the {name} generator has no setting {unknown[0]} ({flag})")


def generate(
    dataset: Dataset | str | os.PathLike,
    out_path: str | os.PathLike,
    direction: str,
    generator: str | Generator = "extractive",
    model: str | None = None,
    adapter: str | None = None,
    no_metadata: bool | None = None,
    num_return: int | None = None,
    items: list[int] | None = None,
    shard_size: int = 1000,
    seed: int = 0,
    overwrite: bool = False,
    show_progress: bool = True,
    ray: RayOptions | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Write synthetic texts for every source item of ``direction`` to ``out_path`` (JSONL).

    Parameters
    ----------
    dataset
        A :class:`~skim.data.Dataset` or its directory.
    direction
        ``queries-to-labels`` (one record per train query) or ``labels-to-queries`` (per label).
    generator
        ``extractive`` | ``hf`` | ``vllm`` | ``openai``, or a ready :class:`Generator`.
    model, adapter
        Model name/folder and LoRA adapter for ``hf``/``vllm`` (a distilled folder suffices);
        the model name for ``openai``.
    no_metadata
        Prompts without metadata (UDAPDR-style ablation); None follows the distilled model.
    num_return
        Sampled completions per item (``hf``/``vllm``) or texts per item (``extractive``,
        ``openai``).
    items
        Source indices to generate for (default: all).
    shard_size
        Items per shard: the unit of progress that survives a crash.
    overwrite
        Discard shards left by a run with other settings instead of refusing.
    ray
        Generate the shards in a Ray actor pool (:mod:`skim.generate.ray_run`): the same
        records, one shard per call, resumable as here; ``generate_seconds`` then sums the
        actors' seconds.
    options
        Generator-specific settings (``temperature``, ``max_new_tokens``, ``batch_size``, ...).

    Returns
    -------
    dict
        Summary: counts, timings, throughput, generator settings; also ``OUT.manifest.json``.
        A finished ``out_path`` with the same settings and items is not generated again.
    """
    check_direction(direction)
    if shard_size < 1:
        raise SkimError(f"shard_size must be at least 1, got {shard_size}")
    if num_return is not None and num_return < 1:  # not "0 means the default"
        raise SkimError(f"num_return must be at least 1, got {num_return}")
    if not isinstance(dataset, Dataset):
        dataset = load_dataset(dataset)
    out_path = Path(out_path)
    check_output(out_path)
    n_sources = len(source_texts(dataset, direction)[0])
    sources = list(range(n_sources)) if items is None else [int(i) for i in items]
    bad = [i for i in sources if not 0 <= i < n_sources]
    if bad:
        raise SkimError(f"item {bad[0]} is out of range: {direction} has {n_sources} sources")
    if no_metadata is None:
        no_metadata = _model_no_metadata(model, adapter)
    started = time.time()
    if isinstance(generator, str):
        gen = make_generator(
            generator, dataset, direction, model, adapter, no_metadata, num_return, seed, **options
        )
    else:
        gen = generator
    settings = {"generator": gen.name, "direction": direction, **gen.settings}
    key = _run_key(settings, sources, _dataset_key(dataset, direction))
    manifest_path = out_path.with_suffix(".manifest.json")
    if out_path.is_file() and manifest_path.is_file():
        previous = json.loads(manifest_path.read_text(encoding="utf-8"))
        if previous.get("run_key") == key and not previous.get("failed"):
            return {**previous, "generated_this_run": 0}
    shard_dir = out_path.with_name(out_path.name + ".shards")
    _prepare_shards(shard_dir, key, overwrite)

    shards = [sources[i : i + shard_size] for i in range(0, len(sources), shard_size)]
    from tqdm.auto import tqdm

    bar = tqdm(
        total=len(sources), desc=f"generate ({gen.name})", unit="item", disable=not show_progress
    )
    gen_seconds, n_generated = 0.0, 0
    failures: list[dict[str, Any]] = []
    pending: dict[int, tuple[list[int], dict[int, dict[str, Any]]]] = {}
    for number, shard in enumerate(shards):
        done = _shard_records(shard_dir / f"shard-{number:06d}.jsonl")
        todo = [source for source in shard if source not in done]
        if len(todo) < len(shard):
            bar.update(len(shard) - len(todo))
        if todo:
            pending[number] = todo, done
    todos = {number: todo for number, (todo, _) in pending.items()}
    if ray is None:
        results = _generate_here(gen, dataset, direction, todos, no_metadata, bar)
    else:
        from skim.generate.ray_run import generate_on_ray

        make = (generator, dataset, direction, model, adapter, no_metadata, num_return, seed)
        results = generate_on_ray(gen, make, options, todos, ray)
    for number, texts, seconds, moved in results:
        path = shard_dir / f"shard-{number:06d}.jsonl"
        shard, (todo, done) = shards[number], pending[number]
        gen_seconds += seconds
        n_generated += len(todo)
        for source, synth in zip(todo, texts, strict=True):
            if isinstance(synth, ItemFailed):
                failures.append(_failure(source, direction, gen.name, synth))
                continue
            done[source] = {
                "source": source,
                "texts": synth,
                "direction": direction,
                "generator": gen.name,
                "settings": gen.settings,
            }
        write_records(path, [done[source] for source in shard if source in done])
        bar.update(len(todo) - moved)
    bar.close()

    failed_path = sibling(out_path, ".failed.jsonl")
    n_records = n_texts = n_empty = 0
    with atomic_path(out_path) as tmp, open(tmp, "w", encoding="utf-8") as out:
        for number in range(len(shards)):
            with open(shard_dir / f"shard-{number:06d}.jsonl", encoding="utf-8") as handle:
                for line in handle:
                    record = json.loads(line)
                    n_records += 1
                    n_texts += len(record["texts"])
                    n_empty += not record["texts"]
                    out.write(line)
    if failures:
        failures.sort(key=lambda f: f["source"])
        write_records(failed_path, failures)
    else:
        failed_path.unlink(missing_ok=True)
        shutil.rmtree(shard_dir)
    summary = {
        "out": str(out_path),
        **settings,
        "items": n_records,
        "texts": n_texts,
        "texts_per_item": round(n_texts / max(1, n_records), 3),
        "items_without_texts": n_empty,
        "failed": len(failures),
        "failed_path": str(failed_path) if failures else None,
        "generated_this_run": n_generated,
        "generate_seconds": round(gen_seconds, 3),
        "items_per_second": round(n_generated / gen_seconds, 2) if gen_seconds else None,
        "seconds": round(time.time() - started, 3),
        "run_key": key,
    }
    tokens = getattr(gen, "generated_tokens", None)
    if tokens is not None and gen_seconds:
        summary["generated_tokens"] = tokens
        summary["tokens_per_second"] = round(tokens / gen_seconds, 1)
    write_json_atomic(manifest_path, summary)
    return summary


def _generate_here(
    gen: Generator, dataset: Dataset, direction: str, todos: dict, no_metadata: bool, bar
):
    """Generate each shard's items in this process: ``(shard number, texts, seconds, moved)``,
    ``moved`` being the items the generator already reported to the progress bar."""
    for number, todo in todos.items():
        tick = time.time()
        moved = _follow_batches(gen, bar)
        texts = gen.generate(make_items(dataset, direction, todo, no_metadata))
        yield number, texts, time.time() - tick, moved[0]


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


def dataset_texts(dataset: Dataset) -> list[str]:
    """Every text of ``dataset``: train queries and labels, with their metadata."""
    parts = (dataset.trn_texts, dataset.trn_meta, dataset.label_texts, dataset.label_meta)
    return [text for part in parts if part for text in part]


def _follow_batches(gen: Generator, bar) -> list[int]:
    """Let a generator that reports finished batches (``progress``) move the bar per batch.

    Returns a one-element counter of the items reported, so the shard's end moves the rest.
    """
    moved = [0]
    if hasattr(gen, "progress"):

        def progress(n: int) -> None:
            moved[0] += n
            bar.update(n)

        gen.progress = progress
    return moved


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
