import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import scipy.sparse as sp

from skim.cli import main
from skim.data import Dataset, save_dataset
from skim.errors import SkimError
from skim.generate import generate

from ..distill.helpers import toy_dataset
from ..teach.fake_openai import FakeChatServer


class _Handler(BaseHTTPRequestHandler):
    """Chat completions that answer with the item's name twice; the first call gets a 500."""

    calls = 0

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).calls += 1
        if type(self).calls == 1:
            self.send_response(500)
            self.end_headers()
            return
        user = body["messages"][-1]["content"]
        item = user.split("item: ")[1].split("\n")[0]
        reply = {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": f"1. {item} kind\n2. {item}"},
                }
            ],
        }
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def endpoint():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_openai_generator_asks_endpoint_and_retries(tmp_path, endpoint, monkeypatch):
    monkeypatch.setenv("SKIM_API_KEY", "test-key")
    out = tmp_path / "s.jsonl"
    generate(
        toy_dataset(),
        out,
        "queries-to-labels",
        "openai",
        model="teacher",
        items=[0, 1],
        endpoint=endpoint,
        concurrency=1,
        backoff=0.01,
        show_progress=False,
    )
    records = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["texts"] for r in records] == [["dog kind", "dog"], ["cat kind", "cat"]]
    assert "test-key" not in out.read_text()
    assert _Handler.calls == 3  # one 500 retried


def test_openai_generator_needs_a_key(tmp_path, monkeypatch):
    monkeypatch.delenv("SKIM_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(SkimError, match="SKIM_API_KEY"):
        generate(toy_dataset(), tmp_path / "s.jsonl", "queries-to-labels", "openai", model="m")


# fast retries: two attempts per item, a few milliseconds apart
FAST = {"max_retries": 1, "backoff": 0.01, "timeout": 2.0, "concurrency": 2}
ITEMS = [f"item-{k}" for k in range(5)]


def _served() -> Dataset:
    """5 train queries named item-0..item-4, which the fake server recognises."""
    return Dataset(
        trn_texts=list(ITEMS),
        tst_texts=["t"],
        label_texts=["a", "b"],
        trn_X_Y=sp.csr_matrix(np.eye(5, 2, dtype=np.float32)),
        tst_X_Y=sp.csr_matrix((1, 2), dtype=np.float32),
        trn_meta=[f"the metadata of {item}" for item in ITEMS],
    )


def _generate(out, server, **kwargs):
    return generate(
        _served(), out, "queries-to-labels", "openai", model="m", endpoint=server.url,
        shard_size=2, show_progress=False, **{**FAST, **kwargs},
    )  # fmt: skip


def _texts(k: int) -> list[str]:
    """What the generator parses from the fake server's answer for item-k."""
    return [f"item-{k} alpha", f"**item-{k} beta**", f"item-{k} beta"]


def _records(path) -> dict[int, list[str]]:
    return {r["source"]: r["texts"] for r in map(json.loads, path.read_text().splitlines())}


def test_a_malformed_reply_is_retried_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("SKIM_API_KEY", "k")
    out = tmp_path / "s.jsonl"
    faults = {"item-1": ["malformed"], "item-2": ["noshape"], "item-3": ["empty"]}
    with FakeChatServer(faults) as server:
        summary = _generate(out, server)
        outcomes = {item: server.outcomes(item) for item in ITEMS}
    assert summary["failed"] == 0 and summary["items"] == 5
    assert outcomes["item-1"] == ["malformed", "ok"] and outcomes["item-3"] == ["empty", "ok"]
    assert _records(out)[1] == _texts(1)
    assert not (tmp_path / "s.jsonl.shards").exists() and not (tmp_path / "s.failed.jsonl").exists()


def test_a_model_that_refuses_max_tokens_gets_max_completion_tokens(tmp_path, monkeypatch):
    monkeypatch.setenv("SKIM_API_KEY", "k")
    out = tmp_path / "s.jsonl"
    with FakeChatServer({item: ["maxtok"] for item in ITEMS}) as server:
        summary = _generate(out, server, concurrency=1, max_tokens=77)
        limits = [(b.get("max_tokens"), b.get("max_completion_tokens")) for b in server.bodies]
    assert summary["failed"] == 0 and _records(out) == {k: _texts(k) for k in range(5)}
    assert limits == [(77, None)] + [(None, 77)] * 5  # refused once, then the new name


def test_an_item_that_keeps_failing_is_listed_then_asked_again_on_a_rerun(tmp_path, monkeypatch):
    monkeypatch.setenv("SKIM_API_KEY", "k")
    out = tmp_path / "s.jsonl"
    faults = {"item-2": ["500", "malformed"], "item-4": ["503", "text"]}
    with FakeChatServer(faults) as server:
        first = _generate(out, server)
        assert first["failed"] == 2 and first["items"] == 3
        assert sorted(_records(out)) == [0, 1, 3]  # never an empty success
        failed = [
            json.loads(line) for line in (tmp_path / "s.failed.jsonl").read_text().splitlines()
        ]
        assert [f["source"] for f in failed] == [2, 4] and failed[0]["attempts"] == 2
        assert "malformed reply" in failed[0]["error"]
        assert (tmp_path / "s.jsonl.shards").is_dir()  # kept for the rerun
        asked_before = len(server.asked())
        second = _generate(out, server)
        asked_again = server.asked()[asked_before:]
        third = _generate(out, server)  # finished: nothing is asked
        assert third["generated_this_run"] == 0 and len(server.asked()) == asked_before + 2
    assert sorted(asked_again) == ["item-2", "item-4"]  # only the failed items
    assert second["failed"] == 0 and second["generated_this_run"] == 2
    assert _records(out) == {k: _texts(k) for k in range(5)}
    assert not (tmp_path / "s.failed.jsonl").exists()
    assert not (tmp_path / "s.jsonl.shards").exists()


def test_the_cli_exits_1_and_says_what_failed(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SKIM_API_KEY", "sk-secret-key-123")
    data = save_dataset(_served(), tmp_path / "data")
    out = tmp_path / "s.jsonl"
    with FakeChatServer({"item-0": ["echo", "echo"]}) as server:
        code = main([
            "generate", str(data), str(out), "--direction", "queries-to-labels", "--generator",
            "openai", "--model", "m", "--endpoint", server.url, "--max-retries", "1",
        ])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert "skim generate: 1 items failed after the last retry" in err
    assert "sk-secret-key-123" not in err + (tmp_path / "s.failed.jsonl").read_text()


def test_the_cli_paces_requests_with_max_rpm(tmp_path, monkeypatch):
    import time

    monkeypatch.setenv("SKIM_API_KEY", "k")
    data = save_dataset(_served(), tmp_path / "data")
    with FakeChatServer({"item-1": ["500"]}) as server:
        started = time.monotonic()
        code = main([
            "generate", str(data), str(tmp_path / "s.jsonl"), "--direction", "queries-to-labels",
            "--generator", "openai", "--model", "m", "--endpoint", server.url, "--concurrency",
            "4", "--max-rpm", "600",
        ])  # fmt: skip
        starts = sorted(t for t, _, _ in server.log)
    assert code == 0 and len(starts) == 6  # 5 items and the retry of item-1's 500
    assert starts[-1] - started >= 0.5  # 600 a minute: the 6th start 0.5 s after the 1st
