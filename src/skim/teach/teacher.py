"""``teach``: ask an LLM teacher for demonstrations of one task family, resumably.

Answers go first to an append-only cache (``OUT.cache.jsonl``), one line per answer as it
arrives; a rerun, or a run after a crash, asks only for items whose key is not cached. At the
end ``OUT.jsonl`` is written atomically with one record per answered item of *this* run, in
item order, items that failed after the last retry go to ``OUT.failed.jsonl`` (a rerun asks
them again), and ``OUT.manifest.json`` records settings, counts and timings.

With ``batch_api=True`` the same requests go through the OpenAI Batch API instead, at half
price (:mod:`skim.teach.batch`): the batches' ids wait in ``OUT.batch.json`` until they end,
so a rerun (after ``wait=False`` or an interruption) collects them without resubmitting, and
their answers land in the same cache, where chat and batch runs reuse each other's answers.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skim._io import check_output, texts_fingerprint, write_json_atomic
from skim._log import progress_enabled
from skim._redact import redact_url
from skim.argtypes import check_positive_int
from skim.data import Dataset, as_dataset
from skim.direction import check_direction, source_count
from skim.errors import SkimError
from skim.prompts import count_tokens, load_template, parse_response
from skim.records import RecordLog, manifest_path, read_records, sibling, write_records
from skim.teach.client import ChatClient, ItemFailed, Reply
from skim.teach.items import (
    Item,
    base_record,
    build_items,
    item_key,
    sample_indices,
)
from skim.teach.params import TeachParams

API_KEY_VARIABLES = ("SKIM_API_KEY", "OPENAI_API_KEY")


def api_key_from_env() -> str | None:
    """The first of ``SKIM_API_KEY`` and ``OPENAI_API_KEY`` that is set."""
    for name in API_KEY_VARIABLES:
        if os.environ.get(name):
            return os.environ[name]
    return None


def _record(direction: str, item: Item, prompt: str, model: str, key: str, reply: Reply) -> dict:
    record = base_record(direction, item, prompt, model, key)
    record.update(
        texts=parse_response(reply.text),
        completion=reply.text,
        prompt_tokens=reply.prompt_tokens,
        completion_tokens=reply.completion_tokens,
        attempts=reply.attempts,
        seconds=reply.seconds,
        finish_reason=reply.finish_reason,
    )
    return record


def teach(
    dataset: Dataset | str | os.PathLike,
    out_path: str | os.PathLike,
    direction: str,
    endpoint: str | None = None,
    model: str | None = None,
    params: TeachParams | None = None,
    **settings: Any,
) -> dict[str, Any]:
    """Ask a teacher LLM to write demonstrations for a sample of items; resumable.

    Parameters
    ----------
    dataset
        A :class:`~skim.data.Dataset` or its directory.
    out_path
        The demonstrations file (``demos.jsonl``); ``demos.cache.jsonl``,
        ``demos.failed.jsonl`` and ``demos.manifest.json`` are written beside it.
    direction
        ``"labels-to-queries"`` (items are labels, the teacher writes queries; a few observed
        train queries are shown) or ``"queries-to-labels"`` (items are train queries, the
        teacher writes labels).
    endpoint, model
        OpenAI-compatible base URL and model name (or give them in ``params``).
    params, **settings
        A :class:`~skim.teach.params.TeachParams`, and any of its fields as keywords
        (``n``, ``concurrency``, ``sample``, ``seed``, ``temperature``, ...), which override it.

    Returns
    -------
    dict
        The summary also saved in the manifest: items, cached, asked, answered, failed, texts,
        prompt/completion tokens, retried errors by kind, elapsed seconds and the paths. With
        ``batch_api``, also the batches collected and the items ``unanswered`` by a batch that
        ended early (failed, asked again by the next run); with ``wait=False`` while batches
        are pending, only the ``pending`` requests, the batch ids and the state file (no
        ``OUT.jsonl`` yet).
    """
    given = {k: v for k, v in (("endpoint", endpoint), ("model", model)) if v is not None}
    p = TeachParams.build(params, "teach", **given, **settings)
    started = time.monotonic()
    check_direction(direction)
    check_positive_int("n", p.n)
    check_positive_int("concurrency", p.concurrency)
    if not p.endpoint or not p.model:
        raise SkimError("the LLM teacher needs an endpoint URL and a model name")
    dataset = as_dataset(dataset)
    out_path = Path(out_path)
    check_output(out_path)
    job = _plan(dataset, direction, p, out_path)
    extra: dict[str, Any] = {}
    if p.batch_api:
        from skim.teach.batch import ask_batches

        asked = ask_batches(job, direction, p, out_path)
        if asked.pending:  # submitted, not answered yet: nothing to write until a rerun
            return asked.summary
        failures, asked_tokens, errors, extra = asked.failures, asked.tokens, {}, asked.summary
    else:
        from skim.teach.batch import refuse_pending

        refuse_pending(job, out_path)  # chat requests would pay twice for what batches answer
        failures, asked_tokens, errors = _ask_all(job, direction, p)
    return _write(
        job, p, direction, dataset, out_path, started, failures, asked_tokens, errors, extra
    )


def _write(
    job: _Job,
    p: TeachParams,
    direction: str,
    dataset: Dataset,
    out_path: Path,
    started: float,
    failures: list[dict],
    asked_tokens: list[int],
    errors: dict,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """``OUT.jsonl``, ``OUT.failed.jsonl`` and the manifest of a run whose answers are all in
    (asked by chat requests or by batches); returns the manifest."""
    records = [job.cached[k] for k in job.keys if k in job.cached]
    write_records(out_path, records)
    failed_path = sibling(out_path, ".failed.jsonl")
    failures.sort(key=lambda f: f["source"])
    if failures:
        write_records(failed_path, failures)
    elif failed_path.exists():
        failed_path.unlink()
    summary = _summary(job, p, direction, dataset, records, failures, asked_tokens, errors)
    summary.update(
        elapsed_s=round(time.monotonic() - started, 3),
        out=str(out_path),
        cache=str(job.cache_path),
        failed_path=str(failed_path) if failures else None,
        **extra,
    )
    write_json_atomic(manifest_path(out_path), summary)
    return summary


def teach_cost(
    dataset: Dataset | str | os.PathLike,
    out_path: str | os.PathLike,
    direction: str,
    model: str | None = None,
    params: TeachParams | None = None,
    price_in: float | None = None,
    price_out: float | None = None,
    **settings: Any,
) -> dict[str, Any]:
    """What :func:`teach` would ask, before anything is paid: no request, no file written.

    The items are planned as :func:`teach` plans them (the same sample, metadata budget and
    cache, so items already answered in ``OUT.cache.jsonl`` are not counted; the cache key
    includes the model, so give the one the run will use). Each item is one request.

    Parameters
    ----------
    price_in, price_out
        USD per million prompt and completion tokens; the cost is estimated when given.

    Returns
    -------
    dict
        ``requests``; ``prompt_tokens`` (the rendered prompts, counted by the teach tokenizer if
        one is set, else estimated as words / 0.75; the chat format adds a few tokens per
        request); ``completion_tokens_max`` (``max_tokens`` x requests, None without a
        ``max_tokens``); and with prices ``prompt_cost_usd``, ``completion_cost_usd_max`` and
        ``cost_usd_max``; ``completion_tokens_expected`` and ``cost_usd_expected``, from the
        mean completion of this teacher's answers in the cache, else ``TOKENS_PER_TEXT`` per
        text asked (``completion_expected_from`` says which). With ``batch_api``: the prices
        times ``batch_discount`` (the Batch API's half price), and requests ``pending`` in
        ``OUT.batch.json`` are not counted.
    """
    given = {"model": model} if model is not None else {}
    p = TeachParams.build(params, "teach", **given, **settings)
    check_direction(direction)
    check_positive_int("n", p.n)
    for name, price in (("price_in", price_in), ("price_out", price_out)):
        if price is not None and not price >= 0:
            raise SkimError(f"{name} must be a price >= 0 (USD per million tokens), got {price}")
    dataset = as_dataset(dataset)
    job = _plan(dataset, direction, p, Path(out_path))
    todo, pending, discount = job.todo, 0, None
    if p.batch_api:  # half price; requests already in a batch are paid for by that batch
        from skim.teach.batch import BATCH_DISCOUNT, pending_keys

        waiting = pending_keys(out_path)
        todo = [(it, k) for it, k in job.todo if k not in waiting]
        pending, discount = len(job.todo) - len(todo), BATCH_DISCOUNT
    prompt_tokens = sum(count_tokens(job.prompt(it), p.tokenizer) for it, _ in todo)
    requests = len(todo)
    bound = None if p.max_tokens is None else p.max_tokens * requests
    counted_by = "words / 0.75 (estimate)" if p.tokenizer is None else (
        p.tokenizer if isinstance(p.tokenizer, str) else "custom")  # fmt: skip
    cost: dict[str, Any] = {
        "teacher": p.model,
        "direction": direction,
        "items": len(job.items),
        "cached": len(job.items) - len(job.todo),
        "requests": requests,
        "prompt_tokens": prompt_tokens,
        "tokens_counted_by": counted_by,
        "max_tokens": p.max_tokens,
        "completion_tokens_max": bound,
    }
    per_request, expected_from = _expected_completion(job, p)
    cost.update(
        completion_tokens_expected=round(per_request * requests),
        completion_expected_from=expected_from,
    )
    if p.batch_api:
        cost.update(batch_api=True, pending=pending, batch_discount=discount)
    if price_in is not None or price_out is not None:
        scale = (discount or 1.0) / 1e6

        def priced(tokens: float | None, price: float | None) -> float | None:
            return None if tokens is None or price is None else tokens * price * scale

        prompt_cost = priced(prompt_tokens, price_in)
        bounds = (priced(bound, price_out), priced(cost["completion_tokens_expected"], price_out))
        totals = [None if None in (prompt_cost, c) else prompt_cost + c for c in bounds]
        cost.update(
            price_in=price_in,
            price_out=price_out,
            prompt_cost_usd=prompt_cost,
            completion_cost_usd_max=bounds[0],
            cost_usd_max=totals[0],
            completion_cost_usd_expected=bounds[1],
            cost_usd_expected=totals[1],
        )
    return cost


TOKENS_PER_TEXT = 10
"""A guess at one listed text's completion tokens (a numbered line of a few words), used by
:func:`teach_cost` when the cache holds no answer of the teacher to measure."""


def _expected_completion(job: _Job, p: TeachParams) -> tuple[float, str]:
    """Completion tokens a request is expected to take, and where that number comes from."""
    seen = [
        int(r["completion_tokens"])
        for r in job.cached.values()
        if r.get("teacher") == p.model and r.get("completion_tokens")
    ]
    if seen:
        return sum(seen) / len(seen), f"mean of {len(seen)} cached answers of {p.model}"
    guess = TOKENS_PER_TEXT * p.n
    if p.max_tokens is not None:
        guess = min(guess, p.max_tokens)
    basis = f"{TOKENS_PER_TEXT} tokens a text x {p.n} texts (a guess: no cached answer)"
    return float(guess), basis


@dataclass
class _Job:
    """What one teach run asks: the items, their cache keys, and what is cached already."""

    items: list[Item]
    keys: list[str]
    cached: dict[str, dict]
    todo: list[tuple[Item, str]]
    template: Any
    request: dict[str, Any]
    n_known: int
    max_meta_tokens: int | None
    cache_path: Path
    direction: str

    def prompt(self, item: Item) -> str:
        """The teacher's prompt for ``item``: chat and batch requests send the same."""
        return self.template.render(
            self.direction, item.text, item.metadata, item.known, self.request["n"]
        )


def _plan(dataset: Dataset, direction: str, p: TeachParams, out_path: Path) -> _Job:
    """The items of this run and which of them the cache (``p.cache_path``, default
    ``OUT.cache.jsonl``) does not answer yet."""
    cache_path = Path(p.cache_path) if p.cache_path else sibling(out_path, ".cache.jsonl")
    n_known, max_meta_tokens = p.shown(direction)
    template = load_template(direction, p.template)
    request = {"n": p.n, "temperature": p.temperature, "max_tokens": p.max_tokens}
    total = source_count(dataset, direction)
    items = build_items(
        dataset,
        direction,
        sample_indices(total, p.sample, p.seed),
        n_known,
        max_meta_tokens,
        p.tokenizer,
        p.seed,
    )
    keys = [item_key(p.model, template.digest, request, direction, it) for it in items]
    cached = read_records(cache_path)
    todo = [(it, k) for it, k in zip(items, keys, strict=True) if k not in cached]
    job = _Job(
        items, keys, cached, todo, template, request, n_known, max_meta_tokens, cache_path,
        direction,
    )  # fmt: skip
    if todo:  # a user template's mistake shows up here, before any request is paid for
        job.prompt(todo[0][0])
    return job


def _summary(
    job: _Job,
    p: TeachParams,
    direction: str,
    dataset: Dataset,
    records: list[dict],
    failures: list[dict],
    asked_tokens: list[int],
    errors: dict,
) -> dict[str, Any]:
    """The manifest of a teach run (the caller adds the elapsed time and the paths)."""
    return {
        "teacher": p.model,
        "endpoint": redact_url(p.endpoint),
        "direction": direction,
        "template": job.template.name,
        "template_sha256": job.template.digest,
        "params": job.request,
        "n_known": job.n_known,
        "max_meta_tokens": job.max_meta_tokens,
        "tokenizer": p.tokenizer if isinstance(p.tokenizer, str | None) else "custom",
        "sample": p.sample,
        "seed": p.seed,
        "concurrency": p.concurrency,
        "max_rpm": p.max_rpm,
        "items": len(job.items),
        "cached": len(job.items) - len(job.todo),
        "asked": len(job.todo),
        "answered": len(job.todo) - len(failures),
        "failed": len(failures),
        "records": len(records),
        "texts": sum(len(r["texts"]) for r in records),
        "empty_metadata": sum(not item.metadata for item in job.items),
        "prompt_tokens": asked_tokens[0],
        "completion_tokens": asked_tokens[1],
        "total_prompt_tokens": sum(int(r.get("prompt_tokens", 0)) for r in records),
        "total_completion_tokens": sum(int(r.get("completion_tokens", 0)) for r in records),
        "retried_errors": errors,
        "elapsed_s": None,
        "dataset": str(dataset.path) if dataset.path else None,
        "items_sha256": texts_fingerprint(job.keys),  # exactly what was asked, settings included
        "out": None,
        "cache": None,
        "failed_path": None,
    }


def request_fields(p: TeachParams) -> dict[str, Any]:
    """The sampling fields sent with every teacher request (no ``max_tokens`` when unset)."""
    fields: dict[str, Any] = {"temperature": p.temperature}
    if p.max_tokens is not None:
        fields["max_tokens"] = p.max_tokens
    return fields


def _client(p: TeachParams) -> ChatClient:
    return ChatClient(
        p.endpoint,
        p.model,
        api_key=p.api_key or api_key_from_env(),
        params=request_fields(p),
        timeout=p.timeout,
        max_retries=p.max_retries,
        backoff=p.backoff,
        max_backoff=p.max_backoff,
        max_rpm=p.max_rpm,
    )


def _ask_all(job: _Job, direction: str, p: TeachParams) -> tuple[list[dict], list[int], dict]:
    """Ask for every item not cached, concurrently; each answer goes to the cache as it comes.

    Returns the failures, the [prompt, completion] tokens of this run and the retried errors.
    """
    client = _client(p)
    failures: list[dict] = []
    asked_tokens = [0, 0]

    def ask(item: Item) -> tuple[str, Reply]:
        prompt = job.prompt(item)
        return prompt, client.complete(prompt, accept=lambda t: bool(parse_response(t)))

    from tqdm.auto import tqdm

    bar = tqdm(
        total=len(job.todo),
        desc=f"teach {direction}",
        unit="item",
        disable=not progress_enabled(p.progress),
    )
    pool = cf.ThreadPoolExecutor(max_workers=p.concurrency, thread_name_prefix="skim-teach")
    try:
        with RecordLog(job.cache_path) as log:
            futures = {pool.submit(ask, it): (it, k) for it, k in job.todo}
            for future in cf.as_completed(futures):
                item, key = futures[future]
                try:
                    prompt, reply = future.result()
                except ItemFailed as exc:
                    failures.append(_failure(direction, item, key, exc))
                else:
                    record = _record(direction, item, prompt, p.model, key, reply)
                    log.append(record)
                    job.cached[key] = record
                    asked_tokens[0] += reply.prompt_tokens
                    asked_tokens[1] += reply.completion_tokens
                bar.update(1)
                bar.set_postfix(failed=len(failures), refresh=False)
    except BaseException:  # interrupted or a fatal endpoint error: keep what is cached
        client.stop()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        bar.close()
        client.close()
    pool.shutdown(wait=True)
    return failures, asked_tokens, client.errors


def _failure(direction: str, item: Item, key: str, exc: ItemFailed) -> dict[str, Any]:
    """A line of ``OUT.failed.jsonl``: which item, and why its last attempt failed."""
    return {
        "source": item.source,
        "text": item.text,
        "direction": direction,
        "key": key,
        "error": str(exc),
        "attempts": exc.attempts,
    }
