"""``teach``: ask an LLM teacher for demonstrations of one task family, resumably.

Answers go first to an append-only cache (``OUT.cache.jsonl``), one line per answer as it
arrives; a rerun, or a run after a crash, asks only for items whose key is not cached. At the
end ``OUT.jsonl`` is written atomically with one record per answered item of *this* run, in
item order, items that failed after the last retry go to ``OUT.failed.jsonl`` (a rerun asks
them again), and ``OUT.manifest.json`` records settings, counts and timings.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import time
from pathlib import Path
from typing import Any

from skim._io import check_output, texts_fingerprint, write_json_atomic
from skim._redact import redact_url
from skim.argtypes import check_positive_int
from skim.data import Dataset, as_dataset
from skim.direction import check_direction, source_count
from skim.errors import SkimError
from skim.prompts import load_template, parse_response
from skim.records import RecordLog, manifest_path, read_records, sibling, write_records
from skim.teach.client import ChatClient, ItemFailed, Reply
from skim.teach.items import (
    DEFAULT_MAX_META_TOKENS,
    DEFAULT_N_KNOWN,
    Item,
    base_record,
    build_items,
    item_key,
    sample_indices,
)

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
    endpoint: str,
    model: str,
    n: int = 10,
    concurrency: int = 8,
    max_rpm: float | None = None,
    sample: int | float | None = None,
    seed: int = 0,
    template: str | os.PathLike | None = None,
    api_key: str | None = None,
    n_known: int | None = None,
    max_meta_tokens: int | None | str = "auto",
    tokenizer: Any = None,
    temperature: float = 0.7,
    max_tokens: int | None = 1000,
    timeout: float = 120.0,
    max_retries: int = 6,
    backoff: float = 1.0,
    max_backoff: float = 60.0,
    cache_path: str | os.PathLike | None = None,
    progress: bool = True,
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
        OpenAI-compatible base URL (OpenAI, Azure v1, vLLM, Ollama, llama.cpp) and model name.
    n
        At most this many texts asked per item.
    concurrency, max_rpm
        Requests in flight, and request starts per minute (``None``: unlimited).
    sample, seed
        Which items: ``None`` all, an int that many, a float that fraction, drawn with ``seed``.
    template
        A Jinja2 template file instead of the built-in teacher prompt (see ``skim.prompts``).
    api_key
        Defaults to ``$SKIM_API_KEY`` then ``$OPENAI_API_KEY``; never written anywhere.
    n_known
        Known partners shown per item (default 5 for labels-to-queries, 0 otherwise).
    max_meta_tokens, tokenizer
        Metadata budget (default 750 tokens for labels-to-queries, 1000 for
        queries-to-labels, as in the paper; ``None``: no limit) and how tokens are counted.
    temperature, max_tokens
        Sampling settings sent with every request (part of the cache key).
    timeout, max_retries, backoff, max_backoff
        Per-request timeout and retry policy (see :class:`~skim.teach.client.ChatClient`).
    cache_path
        The answer cache (default ``OUT.cache.jsonl``); share one across runs to reuse answers.
    progress
        Show a progress bar.

    Returns
    -------
    dict
        The summary also saved in the manifest: items, cached, asked, answered, failed, texts,
        prompt/completion tokens, retried errors by kind, elapsed seconds and the paths.
    """
    started = time.monotonic()
    check_direction(direction)
    check_positive_int("n", n)
    check_positive_int("concurrency", concurrency)
    if not endpoint or not model:
        raise SkimError("the LLM teacher needs an endpoint URL and a model name")
    dataset = as_dataset(dataset)
    out_path = Path(out_path)
    check_output(out_path)
    cache_path = Path(cache_path) if cache_path else sibling(out_path, ".cache.jsonl")
    failed_path = sibling(out_path, ".failed.jsonl")
    n_known = DEFAULT_N_KNOWN[direction] if n_known is None else n_known
    if max_meta_tokens == "auto":
        max_meta_tokens = DEFAULT_MAX_META_TOKENS[direction]
    prompt_template = load_template(direction, template)
    params = {"n": n, "temperature": temperature, "max_tokens": max_tokens}
    total = source_count(dataset, direction)
    items = build_items(
        dataset,
        direction,
        sample_indices(total, sample, seed),
        n_known,
        max_meta_tokens,
        tokenizer,
        seed,
    )
    keys = [item_key(model, prompt_template.digest, params, direction, it) for it in items]
    cached = read_records(cache_path)
    todo = [(it, k) for it, k in zip(items, keys, strict=True) if k not in cached]
    n_cached = len(items) - len(todo)
    if todo:  # a user template's mistake shows up here, before any request is paid for
        item = todo[0][0]
        prompt_template.render(direction, item.text, item.metadata, item.known, n)

    request = {"temperature": temperature}
    if max_tokens is not None:
        request["max_tokens"] = max_tokens
    client = ChatClient(
        endpoint,
        model,
        api_key=api_key or api_key_from_env(),
        params=request,
        timeout=timeout,
        max_retries=max_retries,
        backoff=backoff,
        max_backoff=max_backoff,
        max_rpm=max_rpm,
    )
    failures: list[dict] = []
    asked_tokens = [0, 0]

    def ask(item: Item) -> tuple[str, Reply]:
        prompt = prompt_template.render(direction, item.text, item.metadata, item.known, n)
        return prompt, client.complete(prompt, accept=lambda t: bool(parse_response(t)))

    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo), desc=f"teach {direction}", unit="item", disable=not progress)
    pool = cf.ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="skim-teach")
    try:
        with RecordLog(cache_path) as log:
            futures = {pool.submit(ask, it): (it, k) for it, k in todo}
            for future in cf.as_completed(futures):
                item, key = futures[future]
                try:
                    prompt, reply = future.result()
                except ItemFailed as exc:
                    failures.append(
                        {
                            "source": item.source,
                            "text": item.text,
                            "direction": direction,
                            "key": key,
                            "error": str(exc),
                            "attempts": exc.attempts,
                        }
                    )
                else:
                    record = _record(direction, item, prompt, model, key, reply)
                    log.append(record)
                    cached[key] = record
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

    records = [cached[k] for k in keys if k in cached]
    write_records(out_path, records)
    failures.sort(key=lambda f: f["source"])
    if failures:
        write_records(failed_path, failures)
    elif failed_path.exists():
        failed_path.unlink()
    summary = {
        "teacher": model,
        "endpoint": redact_url(endpoint),
        "direction": direction,
        "template": prompt_template.name,
        "template_sha256": prompt_template.digest,
        "params": params,
        "n_known": n_known,
        "max_meta_tokens": max_meta_tokens,
        "tokenizer": tokenizer if isinstance(tokenizer, str) or tokenizer is None else "custom",
        "sample": sample,
        "seed": seed,
        "concurrency": concurrency,
        "max_rpm": max_rpm,
        "items": len(items),
        "cached": n_cached,
        "asked": len(todo),
        "answered": len(todo) - len(failures),
        "failed": len(failures),
        "records": len(records),
        "texts": sum(len(r["texts"]) for r in records),
        "empty_metadata": sum(not item.metadata for item in items),
        "prompt_tokens": asked_tokens[0],
        "completion_tokens": asked_tokens[1],
        "total_prompt_tokens": sum(int(r.get("prompt_tokens", 0)) for r in records),
        "total_completion_tokens": sum(int(r.get("completion_tokens", 0)) for r in records),
        "retried_errors": client.errors,
        "elapsed_s": round(time.monotonic() - started, 3),
        "dataset": str(dataset.path) if dataset.path else None,
        "items_sha256": texts_fingerprint(keys),  # exactly what was asked, settings included
        "out": str(out_path),
        "cache": str(cache_path),
        "failed_path": str(failed_path) if failures else None,
    }
    write_json_atomic(manifest_path(out_path), summary)
    return summary
