"""``teach --batch-api``: ask the teacher through the OpenAI Batch API, at half price, resumably.

The items a run would ask by chat requests (the same prompts, request fields and cache keys)
are written as one JSONL input file per batch (``custom_id`` is the item's cache key), uploaded
with ``purpose="batch"`` and submitted to ``/v1/chat/completions`` with a 24 h window; above
the API's limits (50,000 requests or 200 MB per file) the items are split over several
batches. ``OUT.batch.json`` (beside the output, rewritten atomically after every change) holds
each pending batch's id, input file and keys, and the failures of the batches already
collected: a rerun of the same command, after ``wait=False`` or an interruption, polls the
same batches again and never submits an item that sits in one of them (a run stopped between
an upload and its batch leaves the file's id: the rerun finds the batch among the newest, or
starts it, without uploading again).

A batch is created once: ``batches.create`` is not idempotent, so after a lost answer the
newest batches are searched for its input file before asking again. When a batch ends its
output (and error) file is streamed line by line: every usable answer becomes the same
record the chat path writes, appended to the same cache (``OUT.cache.jsonl``), so chat runs
and batch runs reuse each other's answers; error lines, non-200 responses and answers with no
list are failures. Items of a ``failed``, ``expired`` or ``cancelled`` batch that got no
answer (no line, or the API's ``batch_expired`` / ``batch_cancelled`` line) are failures
too, and (like every failure) asked again by the next run. Once no batch is pending the
state file is removed and ``teach`` writes ``OUT.jsonl``, ``OUT.failed.jsonl`` and the
manifest as for chat requests.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skim._io import write_json_atomic
from skim._log import LOGGER, progress_enabled
from skim._redact import redact, redact_url, url_secrets
from skim.errors import SkimError, Unreachable
from skim.prompts import parse_response
from skim.records import RecordLog, sibling
from skim.teach.client import ItemFailed, Reply, sdk_client, short_text, status_message
from skim.teach.items import Item
from skim.teach.pacer import Pacer
from skim.teach.params import TeachParams
from skim.teach.teacher import _failure, _Job, _record, api_key_from_env, request_fields

BATCH_DISCOUNT = 0.5  # OpenAI bills Batch API tokens at half the price of chat requests
ENDPOINT = "/v1/chat/completions"
MAX_BYTES = 190_000_000  # the API takes input files up to 200 MB; keep a margin
ENDED = ("completed", "failed", "expired", "cancelled")
MAX_REQUESTS = 50_000  # the API's limit of requests in one batch
START_ATTEMPTS = 4  # tries of batches.create, each after a search for the batch it may have made
UNFINISHED = ("batch_expired", "batch_cancelled")  # error codes of requests a batch never ran


@dataclass
class Asked:
    """What :func:`ask_batches` got: failures and tokens of the collected batches, how many
    requests are still pending (then ``summary`` is the whole result of the run), and the
    batch fields of the manifest."""

    failures: list[dict]
    tokens: list[int]
    pending: int
    summary: dict[str, Any]


def state_path(out_path: str | Path) -> Path:
    """``OUT.batch.json``: the batches of a run that are not collected yet."""
    return sibling(out_path, ".batch.json")


def pending_keys(out_path: str | Path) -> set[str]:
    """Cache keys of the requests that sit in a batch not collected yet."""
    return _waiting(_load(state_path(out_path)))


def _waiting(state: dict[str, Any]) -> set[str]:
    """Cache keys of the requests in the state's batches."""
    return {key for batch in state["batches"] for key in batch["keys"]}


def refuse_pending(job: _Job, out_path: Path) -> None:
    """Raise :class:`SkimError` when items ``job`` would ask sit in a pending batch."""
    waiting = pending_keys(out_path) & {key for _, key in job.todo}
    if waiting:
        raise SkimError(
            f"{state_path(out_path)}: {len(waiting)} of these requests are in batches not "
            "collected yet; rerun with --batch-api to collect them, or delete the file to "
            "abandon them"
        )


def ask_batches(job: _Job, direction: str, p: TeachParams, out_path: Path) -> Asked:
    """Submit ``job.todo`` as batches (those not pending already), wait for every batch of the
    state to end (``p.wait`` False: look once), and collect the answers into the cache."""
    if not 1 <= p.batch_max_requests <= MAX_REQUESTS:
        raise SkimError(
            f"batch_max_requests must be in [1, {MAX_REQUESTS}] (the Batch API's limit), "
            f"got {p.batch_max_requests}"
        )
    path = state_path(out_path)
    state = _load(path)
    shown = redact_url(p.endpoint)
    if state["batches"] and state["endpoint"] != shown:
        raise SkimError(
            f"{path}: its batches were submitted to {state['endpoint']}, not {shown}; rerun "
            "with that --endpoint to collect them, or delete the file to abandon them"
        )
    state["endpoint"] = shown
    items = {key: item for item, key in job.todo}
    waiting = _waiting(state)
    unknown = waiting - set(job.keys)
    if unknown:
        raise SkimError(
            f"{path}: {len(unknown)} requests pending in its batches are not items of this run "
            "(other settings, sample or model); rerun with the settings that submitted them, "
            "or delete the file to abandon them"
        )
    failed = {f["key"] for f in state["failures"]}
    submit = [(it, k) for it, k in job.todo if k not in waiting and k not in failed]
    secrets = [p.api_key or api_key_from_env(), *url_secrets(p.endpoint)]
    client = batch_client(p)
    try:
        with _errors(shown, secrets):
            for entry in state["batches"]:
                if entry["id"] is None:  # a run stopped between an upload and its batch
                    _start(client, entry, resumed=True)
                    write_json_atomic(path, state)
            for chunk in _chunks(submit, job, p):
                state["batches"].append(_upload(client, chunk))
                write_json_atomic(path, state)
                _start(client, state["batches"][-1])
                write_json_atomic(path, state)
        with _errors(shown, secrets), RecordLog(job.cache_path) as log:
            for batch, entry in _ended(client, state, path, direction, p):
                _collect(client, batch, entry, state, job, items, direction, p, log, secrets)
    finally:
        client.close()
    if state["batches"]:  # wait=False and some batch still runs
        pending = len(_waiting(state))
        return Asked([], [0, 0], pending, _pending_summary(job, p, direction, path, state))
    if path.exists():
        path.unlink()
    failures = [f for f in state["failures"] if f["key"] in items and f["key"] not in job.cached]
    summary = {
        "batch_api": True,
        "pending": 0,
        "batches": state["ended"],
        "unanswered": sum(bool(f.get("unanswered")) for f in failures),
    }
    return Asked(failures, list(state["tokens"]), 0, summary)


def batch_client(p: TeachParams) -> Any:
    """The SDK client for files and batches: the SDK retries 429, 5xx and timeouts itself,
    paced at ``max_rpm`` as the chat path is."""
    key = p.api_key or api_key_from_env()
    return sdk_client(p.endpoint, key, Pacer(p.max_rpm), p.timeout, p.max_retries)


def request_body(p: TeachParams, prompt: str) -> dict[str, Any]:
    """The body of one chat request, as the chat path sends it, except that the completion
    limit is ``max_completion_tokens``: the Batch API is OpenAI's, whose newer models refuse
    ``max_tokens`` and every model takes the new name."""
    fields = request_fields(p)
    if "max_tokens" in fields:
        fields["max_completion_tokens"] = fields.pop("max_tokens")
    return {"model": p.model, "messages": [{"role": "user", "content": prompt}], **fields}


def _load(path: Path) -> dict[str, Any]:
    state: dict[str, Any] = {"endpoint": None, "batches": [], "failures": [], "tokens": [0, 0],
                             "ended": []}  # fmt: skip
    if not path.exists():
        return state
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(loaded, dict) or not isinstance(loaded.get("batches"), list):
            raise ValueError("no list of batches")
    except ValueError as exc:
        raise SkimError(f"{path}: not a batch state written by skim teach ({exc})") from None
    return {**state, **loaded}


def _chunks(
    todo: list[tuple[Item, str]], job: _Job, p: TeachParams
) -> Iterator[list[tuple[str, bytes]]]:
    """The input files' lines ``(key, JSONL line)``, at most ``p.batch_max_requests`` lines
    and :data:`MAX_BYTES` bytes a file."""
    chunk: list[tuple[str, bytes]] = []
    size = 0
    for item, key in todo:
        prompt = job.prompt(item)
        line = {"custom_id": key, "method": "POST", "url": ENDPOINT,
                "body": request_body(p, prompt)}  # fmt: skip
        data = (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8")
        if chunk and (len(chunk) >= p.batch_max_requests or size + len(data) > MAX_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append((key, data))
        size += len(data)
    if chunk:
        yield chunk


def _upload(client: Any, chunk: list[tuple[str, bytes]]) -> dict[str, Any]:
    """Upload one input file; the state entry of its batch, not started yet."""
    data = b"".join(line for _, line in chunk)
    uploaded = client.files.create(
        file=("skim-teach-batch.jsonl", data, "application/jsonl"), purpose="batch"
    )
    return {"id": None, "input_file_id": uploaded.id, "status": "uploaded",
            "keys": [key for key, _ in chunk]}  # fmt: skip


def _start(client: Any, entry: dict[str, Any], resumed: bool = False) -> None:
    """Start the batch of an uploaded input file, exactly once.

    ``batches.create`` is not idempotent (the SDK sends no idempotency key), so the SDK does
    not retry it here: after a dropped connection, a timeout or a 5xx the batch may exist, and
    the newest batches are searched for the file before asking again. ``resumed``: a run
    stopped between the upload and its batch; search first too.
    """
    import openai

    for attempt in range(START_ATTEMPTS):
        if resumed or attempt:
            found = _batch_of(client, entry["input_file_id"])
            if found is not None:
                entry.update(id=found.id, status=found.status)
                return
        try:
            batch = client.with_options(max_retries=0).batches.create(
                input_file_id=entry["input_file_id"], endpoint=ENDPOINT, completion_window="24h"
            )
        except (openai.APIConnectionError, openai.InternalServerError, openai.RateLimitError):
            if attempt == START_ATTEMPTS - 1:
                raise
            time.sleep(min(30.0, 0.5 * 2.0**attempt))
            continue
        entry.update(id=batch.id, status=batch.status)
        return


def _batch_of(client: Any, input_file_id: str) -> Any:
    """The batch among the 1,000 newest that runs ``input_file_id``, else None."""
    newest = itertools.islice(client.batches.list(limit=100), 1000)
    return next((b for b in newest if b.input_file_id == input_file_id), None)


def _ended(
    client: Any, state: dict[str, Any], path: Path, direction: str, p: TeachParams
) -> Iterator[tuple[Any, dict[str, Any]]]:
    """Each batch of the state as it ends, with its state entry, retrieving the pending ones
    every ``poll_interval`` seconds (once if ``p.wait`` is False); once the caller collected
    a batch it leaves the state on disk, which always lists the batches not collected yet."""
    from tqdm.auto import tqdm

    total = len(_waiting(state))
    bar = tqdm(total=total, desc=f"teach {direction} (batch)", unit="item",
               disable=not progress_enabled(p.progress))  # fmt: skip
    counts: dict[str, int] = {}
    try:
        while state["batches"]:
            for entry in list(state["batches"]):
                batch = client.batches.retrieve(entry["id"])
                entry["status"] = batch.status
                done = batch.request_counts
                if done is not None:
                    counts[entry["id"]] = done.completed + done.failed
                if batch.status not in ENDED:
                    continue
                yield batch, entry
                counts[entry["id"]] = len(entry["keys"])
                state["batches"].remove(entry)
                write_json_atomic(path, state)
            bar.update(min(total, sum(counts.values())) - bar.n)
            if not p.wait:
                return
            if state["batches"]:
                time.sleep(p.poll_interval)
    except KeyboardInterrupt:
        LOGGER.warning(
            "%d requests are still in batches (listed in %s); they keep running: rerun the "
            "same command to collect them",
            len(_waiting(state)),
            path,
        )
        raise
    finally:
        bar.close()


def _file_lines(client: Any, file_id: str, keys: set[str]) -> Iterator[tuple[str, dict]]:
    """``(custom_id, line)`` of a batch's output or error file for ``keys``, streamed line by
    line (a 200 MB output is never held whole); a line that cannot be read is skipped, which
    leaves its item unanswered, asked again."""
    with client.files.with_streaming_response.content(file_id) as response:
        for text in response.iter_lines():
            try:
                line = json.loads(text)
            except ValueError:
                continue
            if isinstance(line, dict) and line.get("custom_id") in keys:
                yield line["custom_id"], line


def _batch_errors(batch: Any) -> dict[int | None, str]:
    """A failed batch's error messages by input line (1-based); under None the first, for the
    lines no error names (a validation error stops the whole batch)."""
    reasons: dict[int | None, str] = {}
    for error in getattr(getattr(batch, "errors", None), "data", None) or []:
        message = getattr(error, "message", None)
        if message:
            reasons.setdefault(getattr(error, "line", None), message)
            reasons.setdefault(None, message)
    return reasons


def _collect(
    client: Any,
    batch: Any,
    entry: dict[str, Any],
    state: dict[str, Any],
    job: _Job,
    items: dict[str, Item],
    direction: str,
    p: TeachParams,
    log: RecordLog,
    secrets: list[str | None],
) -> None:
    """Read an ended batch's output and error files into the cache and the state's failures."""
    lines: dict[str, dict] = {}
    for file_id in (batch.error_file_id, batch.output_file_id):  # an answer wins over an error
        if file_id:
            lines.update(_file_lines(client, file_id, set(entry["keys"])))
    reasons = _batch_errors(batch)
    answered = 0
    for number, key in enumerate(entry["keys"], 1):  # the keys are in input-file order
        item = items.get(key)
        if item is None or key in job.cached:  # answered meanwhile, e.g. by a chat run
            continue
        line = lines.get(key)
        error = line.get("error") if line is not None else None
        if line is None or (isinstance(error, dict) and error.get("code") in UNFINISHED):
            why = f"batch {batch.id} ended ({batch.status}) without answering it"
            reason = reasons.get(number) or reasons.get(None)
            if reason:
                why += f" ({short_text(reason)})"
            failure = _failure(direction, item, key, ItemFailed(why, 1))
            state["failures"].append({**failure, "unanswered": True})
            continue
        reply = _reply(line)
        if isinstance(reply, str):
            failure = _failure(direction, item, key, ItemFailed(redact(reply, secrets), 1))
            state["failures"].append(failure)
            continue
        prompt = job.prompt(item)
        record = _record(direction, item, prompt, p.model, key, reply)
        log.append(record)
        job.cached[key] = record
        state["tokens"][0] += reply.prompt_tokens
        state["tokens"][1] += reply.completion_tokens
        answered += 1
    state["ended"].append({"id": batch.id, "status": batch.status, "requests": len(entry["keys"]),
                           "answered": answered})  # fmt: skip


def _reply(line: dict[str, Any]) -> Reply | str:
    """The usable answer of one output line, or why there is none."""
    error = line.get("error")
    if error:
        if isinstance(error, dict):
            return f"{error.get('code') or 'error'}: {short_text(error.get('message'))}"
        return short_text(error)
    response = line.get("response") if isinstance(line.get("response"), dict) else {}
    body = response.get("body") if isinstance(response.get("body"), dict) else {}
    status = response.get("status_code")
    if status != 200:
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        return f"status {status}: {short_text(inner.get('message', 'no message'))}"
    choices = body.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices else {}
    message = choice.get("message") if isinstance(choice, dict) else None
    text = message.get("content") if isinstance(message, dict) else None
    if not isinstance(text, str) or not text.strip():
        return "malformed reply (no message content)"
    if not parse_response(text):
        return f"unusable reply ({short_text(text)})"
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    return Reply(
        text=text,
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        attempts=1,
        seconds=None,  # type: ignore[arg-type]  # a batch does not time its requests
        finish_reason=choice.get("finish_reason"),
    )


def _pending_summary(
    job: _Job, p: TeachParams, direction: str, path: Path, state: dict[str, Any]
) -> dict[str, Any]:
    """The result of a run that submitted and did not wait: what is pending, and where."""
    return {
        "teacher": p.model,
        "endpoint": state["endpoint"],
        "direction": direction,
        "batch_api": True,
        "items": len(job.items),
        "cached": len(job.items) - len(job.todo),
        "pending": len(_waiting(state)),
        "batches": [b["id"] for b in state["batches"]],
        "batch_state": str(path),
    }


@contextlib.contextmanager
def _errors(shown: str | None, secrets: list[str | None]) -> Iterator[None]:
    """SDK errors as one sentence naming the endpoint, never the key."""
    import openai

    where = shown or "the default endpoint"
    try:
        yield
    except openai.APIStatusError as exc:
        hint = _HINTS.get(exc.status_code, "rerun the same command to resume")
        message = (
            f"{exc.request.method} {exc.request.url} answered status {exc.status_code} "
            f"({status_message(exc)}); {hint}"
        )
        raise SkimError(redact(message, secrets)) from None
    except openai.APIConnectionError as exc:
        message = (
            f"cannot reach {where} ({exc.__cause__ or exc}); check --endpoint, then rerun the "
            "same command to resume"
        )
        raise Unreachable(redact(message, secrets)) from None


_HINTS = {
    400: "check --model and the request settings, then delete OUT.batch.json if a batch of it "
    "cannot start",
    401: "check SKIM_API_KEY",
    403: "check SKIM_API_KEY",
    404: "check --endpoint (it must offer the Batch API); a batch's files expire after 30 days: "
    "delete OUT.batch.json to ask its items again",
}
