import json
from pathlib import Path

import pytest

from skim.cli import main
from skim.errors import SkimError
from skim.teach import TeachParams, read_records, teach, teach_cost

from .fake_batch import FakeBatchServer
from .fake_openai import FakeChatServer

BATCH = {"progress": False, "poll_interval": 0.01, "batch_api": True, "max_retries": 0}
CHAT = {"progress": False, "timeout": 2.0, "max_retries": 0}
ITEMS = [f"item-{k}" for k in range(8)]


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _state(out: Path) -> dict:
    return json.loads(out.with_name(out.stem + ".batch.json").read_text())


def test_a_batch_run_writes_what_the_chat_path_writes(tmp_path, served_dataset):
    chat_out, batch_out = tmp_path / "chat" / "d.jsonl", tmp_path / "batch" / "d.jsonl"
    with FakeChatServer() as server:
        teach(served_dataset, chat_out, "labels-to-queries", server.url, "m", **CHAT)
    with FakeBatchServer() as server:
        summary = teach(served_dataset, batch_out, "labels-to-queries", server.url, "m", **BATCH)
        (upload,) = server.uploads
    by_chat, by_batch = _lines(chat_out), _lines(batch_out)
    assert [r["source"] for r in by_batch] == list(range(8))
    for chat, batch in zip(by_chat, by_batch, strict=True):
        assert {**batch, "seconds": None} == {**chat, "seconds": None}  # texts, prompt, key...
        assert batch["seconds"] is None and batch["attempts"] == 1
    # each request is the chat request, keyed by the item's cache key
    first = upload[0]
    assert first["custom_id"] == by_batch[0]["key"]
    assert (first["method"], first["url"]) == ("POST", "/v1/chat/completions")
    assert first["body"] == {
        "model": "m",
        "messages": [{"role": "user", "content": by_batch[0]["prompt"]}],
        "temperature": 0.7,
        "max_completion_tokens": 1000,  # the Batch API is OpenAI's: the new name
    }
    assert (summary["answered"], summary["failed"], summary["texts"]) == (8, 0, 16)
    assert summary["prompt_tokens"] == 800 and summary["completion_tokens"] == 80
    assert summary["batches"] == [
        {"id": "batch_1", "status": "completed", "requests": 8, "answered": 8}
    ]
    manifest = json.loads((tmp_path / "batch" / "d.manifest.json").read_text())
    assert manifest["batch_api"] is True and manifest["records"] == 8
    assert not (tmp_path / "batch" / "d.batch.json").exists()
    assert "batch_api" not in TeachParams(batch_api=True).to_dict()  # not a stage setting


def test_no_wait_submits_and_a_rerun_collects_without_resubmitting(tmp_path, served_dataset):
    out = tmp_path / "d.jsonl"
    with FakeBatchServer() as server:
        pending = teach(served_dataset, out, "labels-to-queries", server.url, "m", wait=False,
                        batch_max_requests=3, **BATCH)  # fmt: skip
        assert [len(u) for u in server.uploads] == [3, 3, 2]  # split at the request limit
        assert pending["pending"] == 8 and pending["batches"] == ["batch_1", "batch_2", "batch_3"]
        assert not out.exists() and not (tmp_path / "d.manifest.json").exists()
        state = _state(out)
        assert [b["id"] for b in state["batches"]] == pending["batches"]
        assert [b["input_file_id"] for b in state["batches"]] == ["file-1", "file-2", "file-3"]
        assert [len(b["keys"]) for b in state["batches"]] == [3, 3, 2]

        again = teach(served_dataset, out, "labels-to-queries", server.url, "m",
                      batch_max_requests=3, **BATCH)  # fmt: skip
        assert len(server.uploads) == 3  # nothing submitted twice
    assert (again["asked"], again["answered"], again["pending"]) == (8, 8, 0)
    assert [r["source"] for r in _lines(out)] == list(range(8))
    assert not (tmp_path / "d.batch.json").exists()


def test_interrupted_polling_resumes_the_same_batch(tmp_path, served_dataset):
    out = tmp_path / "d.jsonl"
    with FakeBatchServer(polls=4, interrupt_at=2) as server:
        with pytest.raises(KeyboardInterrupt):
            teach(served_dataset, out, "labels-to-queries", server.url, "m", **BATCH)
        assert [b["id"] for b in _state(out)["batches"]] == ["batch_1"]
        assert not out.exists()
        summary = teach(served_dataset, out, "labels-to-queries", server.url, "m", **BATCH)
        assert len(server.uploads) == 1 and set(server.retrieved) == {"batch_1"}
    assert summary["answered"] == 8 and len(read_records(tmp_path / "d.cache.jsonl")) == 8


def test_failed_items_are_listed_and_the_next_run_submits_only_them(tmp_path, served_dataset):
    out = tmp_path / "d.jsonl"
    faults = {"item-1": ["error"], "item-2": ["500"], "item-3": ["nolist"]}
    with FakeBatchServer(faults) as server:
        summary = teach(served_dataset, out, "labels-to-queries", server.url, "m", **BATCH)
        assert (summary["answered"], summary["failed"]) == (5, 3)
        failed = _lines(tmp_path / "d.failed.jsonl")
        assert [f["source"] for f in failed] == [1, 2, 3]
        assert failed[0]["error"] == "invalid_request: injected error for item-1"
        assert failed[1]["error"] == "status 500: injected 500"
        assert failed[2]["error"].startswith("unusable reply (### Queries")
        assert [r["source"] for r in _lines(out)] == [0, 4, 5, 6, 7]

        again = teach(served_dataset, out, "labels-to-queries", server.url, "m", **BATCH)
        assert server.asked()[1] == ["item-1", "item-2", "item-3"]
    assert (again["cached"], again["asked"], again["failed"]) == (5, 3, 0)
    assert [r["source"] for r in _lines(out)] == list(range(8))
    assert not (tmp_path / "d.failed.jsonl").exists()


def test_an_expired_batch_keeps_its_answers_and_the_rest_is_asked_again(
    tmp_path, served_dataset, capsys
):
    out = tmp_path / "d.jsonl"
    with FakeBatchServer({"item-4": ["late"], "item-6": ["late"]}, ends=("expired",)) as server:
        summary = teach(served_dataset, out, "labels-to-queries", server.url, "m", **BATCH)
        assert summary["batches"][0]["status"] == "expired"
        assert (summary["answered"], summary["failed"], summary["unanswered"]) == (6, 2, 2)
        failed = _lines(tmp_path / "d.failed.jsonl")
        assert [f["source"] for f in failed] == [4, 6]
        assert failed[0]["error"] == "batch batch_1 ended (expired) without answering it"
        teach(served_dataset, out, "labels-to-queries", server.url, "m", **BATCH)
        assert server.asked()[1] == ["item-4", "item-6"]
    assert [r["source"] for r in _lines(out)] == list(range(8))


def test_a_failed_batch_says_why_and_its_items_are_asked_again(tmp_path, served_dataset):
    out = tmp_path / "d.jsonl"
    with FakeBatchServer(ends=("completed", "failed")) as server:
        summary = teach(served_dataset, out, "labels-to-queries", server.url, "m",
                        batch_max_requests=5, **BATCH)  # fmt: skip
        assert [b["status"] for b in summary["batches"]] == ["completed", "failed"]
        assert (summary["answered"], summary["failed"], summary["unanswered"]) == (5, 3, 3)
        failed = _lines(tmp_path / "d.failed.jsonl")
        assert [f["source"] for f in failed] == [5, 6, 7]
        reasons = [f["error"].removeprefix("batch batch_2 ended (failed) without answering it ")
                   for f in failed]  # fmt: skip
        assert reasons == [  # each line's own error, else the batch's first
            "(injected: no such model)", "(injected: line 2 is too long)",
            "(injected: no such model)",
        ]  # fmt: skip
        again = teach(served_dataset, out, "labels-to-queries", server.url, "m", **BATCH)
        assert server.asked()[2] == ["item-5", "item-6", "item-7"]
    assert again["answered"] == 3 and [r["source"] for r in _lines(out)] == list(range(8))


@pytest.mark.parametrize("created", [True, False])
def test_a_run_stopped_between_upload_and_batch_neither_uploads_nor_starts_twice(
    tmp_path, served_dataset, created
):
    out = tmp_path / "d.jsonl"
    with FakeBatchServer(interrupt_create=True) as server:
        with pytest.raises(KeyboardInterrupt):
            teach(served_dataset, out, "labels-to-queries", server.url, "m", **BATCH)
        (entry,) = _state(out)["batches"]
        assert (entry["id"], entry["input_file_id"]) == (None, "file-1")  # batch id not saved
        if not created:  # stopped before the batch request reached the server
            server.batches.clear()
        summary = teach(served_dataset, out, "labels-to-queries", server.url, "m", **BATCH)
        assert len(server.uploads) == 1 and list(server.batches) == ["batch_1"]
    assert summary["answered"] == 8 and summary["batches"][0]["id"] == "batch_1"


def test_a_batch_created_but_whose_answer_was_lost_is_found_not_created_again(
    tmp_path, served_dataset
):
    out = tmp_path / "d.jsonl"
    with FakeBatchServer(drop_create=1) as server:  # the SDK would have POSTed it again
        summary = teach(served_dataset, out, "labels-to-queries", server.url, "m", **BATCH)
        assert list(server.batches) == ["batch_1"]  # one batch billed, not two
    assert summary["answered"] == 8 and summary["batches"][0]["id"] == "batch_1"


def test_batch_max_requests_is_within_the_apis_limit(tmp_path, served_dataset):
    with pytest.raises(SkimError, match=r"batch_max_requests must be in \[1, 50000\]"):
        teach(served_dataset, tmp_path / "d.jsonl", "labels-to-queries", "http://127.0.0.1:9/v1",
              "m", batch_max_requests=50_001, **BATCH)  # fmt: skip


def test_the_cache_is_shared_with_the_chat_path(tmp_path, served_dataset):
    out = tmp_path / "d.jsonl"
    with FakeBatchServer() as server:
        teach(served_dataset, out, "labels-to-queries", server.url, "m", sample=3, **BATCH)
        (first,) = server.asked()
    with FakeChatServer() as server:
        summary = teach(served_dataset, out, "labels-to-queries", server.url, "m", sample=6,
                        **CHAT)  # fmt: skip
        chat_asked = server.asked()
    assert len(chat_asked) == len(set(chat_asked)) == 3 and not set(chat_asked) & set(first)
    assert (summary["cached"], summary["asked"]) == (3, 3)
    with FakeBatchServer() as server:
        summary = teach(served_dataset, out, "labels-to-queries", server.url, "m", **BATCH)
        (last,) = server.asked()
    assert sorted(last) == sorted(set(ITEMS) - set(first) - set(chat_asked))
    assert (summary["cached"], summary["asked"]) == (6, 2)
    assert len(read_records(tmp_path / "d.cache.jsonl")) == 8


def test_dry_run_costs_half_and_leaves_out_what_is_pending(tmp_path, served_dataset):
    out = tmp_path / "d.jsonl"
    prices = {"price_in": 2.0, "price_out": 10.0}
    chat = teach_cost(served_dataset, out, "labels-to-queries", "m", **prices)
    batch = teach_cost(served_dataset, out, "labels-to-queries", "m", batch_api=True, **prices)
    assert batch["batch_discount"] == 0.5 and "batch_discount" not in chat
    assert batch["requests"] == chat["requests"] == 8
    assert batch["prompt_cost_usd"] == pytest.approx(chat["prompt_cost_usd"] / 2)
    assert batch["completion_cost_usd_max"] == pytest.approx(8 * 1000 * 10.0 / 1e6 / 2)
    assert batch["cost_usd_max"] == pytest.approx(chat["cost_usd_max"] / 2)
    with FakeBatchServer() as server:
        teach(served_dataset, out, "labels-to-queries", server.url, "m", sample=3, wait=False,
              **BATCH)  # fmt: skip
    later = teach_cost(served_dataset, out, "labels-to-queries", "m", batch_api=True, **prices)
    assert (later["requests"], later["pending"], later["cached"]) == (5, 3, 0)


def test_a_refused_upload_is_one_sentence_without_the_key(tmp_path, served_dataset):
    with FakeBatchServer(reject=401) as server:
        with pytest.raises(SkimError) as caught:
            teach(served_dataset, tmp_path / "d.jsonl", "labels-to-queries", server.url, "m",
                  api_key="sk-secret-4242", **BATCH)  # fmt: skip
    message = str(caught.value)
    assert message == (
        f"POST {server.url}/files answered status 401 (Incorrect API key provided); "
        "check SKIM_API_KEY"
    )
    assert not (tmp_path / "d.batch.json").exists()


def test_the_key_is_sent_but_never_written(tmp_path, served_dataset):
    out = tmp_path / "d.jsonl"
    with FakeBatchServer({"item-2": ["error"]}) as server:
        teach(served_dataset, out, "labels-to-queries", server.url, "m", api_key="sk-secret-4242",
              wait=False, **BATCH)  # fmt: skip
        state = (tmp_path / "d.batch.json").read_text()
        teach(served_dataset, out, "labels-to-queries", server.url, "m", api_key="sk-secret-4242",
              **BATCH)  # fmt: skip
        assert server.auth == {"Bearer sk-secret-4242"}
    assert "sk-secret-4242" not in state
    for path in tmp_path.iterdir():
        assert "sk-secret-4242" not in path.read_text(), path


def test_pending_batches_of_other_settings_are_not_mixed_in(tmp_path, served_dataset):
    out = tmp_path / "d.jsonl"
    with FakeBatchServer() as server:
        teach(served_dataset, out, "labels-to-queries", server.url, "m", wait=False, **BATCH)
        with pytest.raises(SkimError, match=r"d\.batch\.json: 8 requests pending .* not items"):
            teach(served_dataset, out, "labels-to-queries", server.url, "m", n=3, **BATCH)
        assert len(server.uploads) == 1


def test_chat_requests_do_not_pay_again_for_pending_batches(tmp_path, served_dataset):
    out = tmp_path / "d.jsonl"
    with FakeBatchServer() as server:
        teach(served_dataset, out, "labels-to-queries", server.url, "m", sample=2, wait=False,
              **BATCH)  # fmt: skip
    with FakeChatServer() as server:
        with pytest.raises(SkimError, match=r"d\.batch\.json: 2 of these requests are in batch"):
            teach(served_dataset, out, "labels-to-queries", server.url, "m", **CHAT)
        other = teach(served_dataset, tmp_path / "e.jsonl", "labels-to-queries", server.url,
                      "m", cache_path=tmp_path / "d.cache.jsonl", **CHAT)  # fmt: skip
        assert server.asked() and other["asked"] == 8  # another output has no pending batch


def test_cli_no_wait_exits_0_and_says_how_to_collect(tmp_path, served_dataset, capsys):
    from skim.data import save_dataset

    save_dataset(served_dataset, tmp_path / "ds")
    base = ["teach", str(tmp_path / "ds"), str(tmp_path / "d.jsonl"), "--direction",
            "labels-to-queries", "--model", "m", "--quiet", "--batch-api", "--poll-interval",
            "0.01"]  # fmt: skip
    with FakeBatchServer() as server:
        assert main([*base, "--endpoint", server.url, "--no-wait", "--json"]) == 0
        captured = capsys.readouterr()
        assert json.loads(captured.out)["pending"] == 8
        assert captured.err == (
            f"skim teach: 8 requests in batch(es) batch_1 (state in {tmp_path / 'd.batch.json'})"
            "; rerun the same command to collect them\n"
        )
        assert main([*base, "--endpoint", server.url, "--no-wait", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["answered"] == 8
        assert len(server.uploads) == 1
    assert main([*base[:-3], "--endpoint", "http://x/v1", "--no-wait"]) == 2
    assert "--no-wait and --poll-interval go with --batch-api" in capsys.readouterr().err
    dry = [*base, "--dry-run", "--price-in", "2", "--price-out", "10", "--json"]
    assert main(dry) == 0
    assert json.loads(capsys.readouterr().out)["batch_discount"] == 0.5
