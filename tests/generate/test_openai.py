import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from skim.errors import SkimError
from skim.generate import generate

from ..distill.helpers import toy_dataset


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
