"""A local OpenAI-compatible chat server (loopback only) that misbehaves on request.

Each item (found in the prompt as ``item-<k>``) has a queue of faults, one per attempt;
once its queue is empty the item is answered with a fixed list. Every request is logged
with its time and outcome.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ITEM = re.compile(r"item-\d+")


def answer_for(item: str) -> str:
    """The list the server answers for ``item`` (parses to two texts)."""
    return f"Here are the queries:\n1. {item} alpha\n2. **{item} beta**\n- {item} beta\n"


def completion(content: str, model: str) -> dict:
    """A chat completion body answering ``content`` (100 prompt and 10 completion tokens)."""
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110},
    }


class JsonHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 replies with a length, no Nagle delay and no access log: the fakes' base."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # no 40 ms delayed ACK between headers and body

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, ctype: str, headers=()) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, obj: object, headers=()) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json", headers)


class FakeChatServer:
    """Start with ``with FakeChatServer(faults) as server: ... server.url ...``.

    Faults: ``"429"`` (Retry-After: ``retry_after``), ``"429ms"`` (retry-after-ms: 20),
    ``"500"``, ``"503"``, ``"400"``, ``"401"``, ``"slow"`` (answers after ``slow_s``),
    ``"malformed"`` (invalid JSON), ``"noshape"`` (JSON without choices), ``"empty"`` (empty
    content), ``"nolist"`` (content with no list items), ``"text"`` (text/plain body),
    ``"drop"`` (closes the connection without answering), ``"echo"`` (a 500 whose error
    message repeats the request's Authorization header, as careless proxies do),
    ``"noretry"`` (a 500 with ``x-should-retry: false``), ``"maxtok"`` (the 400 newer OpenAI
    models give a request with ``max_tokens``; a request without it is answered),
    ``"maxtokall"`` (that 400 whatever the request holds).

    5xx replies carry ``retry-after-ms: server_error_retry_ms`` (1 by default, so that the
    SDK's own backoff, 0.5 s and up, does not slow the tests; ``None``: no header).
    """

    def __init__(
        self,
        faults: dict[str, list[str]] | None = None,
        retry_after: str = "0",
        slow_s: float = 0.6,
        delay_s: float = 0.0,
        server_error_retry_ms: str | None = "1",
    ) -> None:
        self.faults = {k: list(v) for k, v in (faults or {}).items()}
        self.retry_after, self.slow_s, self.delay_s = retry_after, slow_s, delay_s
        self.server_error_headers = (
            [] if server_error_retry_ms is None else [("retry-after-ms", server_error_retry_ms)]
        )
        self.log: list[tuple[float, str, str]] = []
        self.bodies: list[dict] = []
        self.auth: set[str] = set()
        self.lock = threading.Lock()
        self.connections: list[socket.socket] = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, address: None  # clients that left early
        self.thread = threading.Thread(  # a short poll: shutdown() returns at once
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def outcomes(self, item: str) -> list[str]:
        with self.lock:
            return [outcome for _, it, outcome in self.log if it == item]

    def asked(self) -> list[str]:
        with self.lock:
            return [it for _, it, _ in self.log]

    def answered(self) -> list[str]:
        with self.lock:
            return [it for _, it, outcome in self.log if outcome == "ok"]

    def __enter__(self) -> FakeChatServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        # a client still waiting (a test that interrupted teach leaves requests in flight)
        # gets an error now, not at its read timeout: its thread must not outlive the test
        with self.lock:
            for conn in self.connections:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _next(self, item: str) -> str:
        with self.lock:
            queue = self.faults.get(item, [])
            outcome = queue.pop(0) if queue else "ok"
            self.log.append((time.monotonic(), item, outcome))
            return outcome

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(JsonHandler):
            def setup(self) -> None:
                super().setup()
                with server.lock:
                    server.connections.append(self.connection)

            def _completion(self, content: str, model: str) -> None:
                self._json(200, completion(content, model))

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.auth.add(self.headers.get("Authorization", ""))
                    server.bodies.append(body)
                found = ITEM.findall(body["messages"][-1]["content"])
                item = found[-1] if found else "?"
                outcome = server._next(item)
                error = {"error": {"message": f"injected {outcome}", "type": "test"}}
                if outcome == "drop":
                    self.close_connection = True
                    return
                if outcome == "maxtok" and "max_tokens" not in body:
                    outcome = "ok"
                if outcome == "slow":
                    time.sleep(server.slow_s)
                    outcome = "ok"
                if outcome == "ok":
                    time.sleep(server.delay_s)
                    self._completion(answer_for(item), body["model"])
                elif outcome == "429":
                    self._json(429, error, [("Retry-After", server.retry_after)])
                elif outcome == "429ms":
                    self._json(429, error, [("retry-after-ms", "20")])
                elif outcome in ("400", "401"):
                    self._json(int(outcome), error)
                elif outcome in ("500", "503"):
                    self._json(int(outcome), error, server.server_error_headers)
                elif outcome == "noretry":
                    self._json(500, error, [("x-should-retry", "false")])
                elif outcome in ("maxtok", "maxtokall"):
                    message = (
                        "Unsupported parameter: 'max_tokens' is not supported with this model. "
                        "Use 'max_completion_tokens' instead."
                    )
                    self._json(400, {"error": {"message": message, "param": "max_tokens"}})
                elif outcome == "echo":
                    auth = self.headers.get("Authorization", "")
                    message = {"error": {"message": f"bad gateway for {auth}"}}
                    self._json(500, message, server.server_error_headers)
                elif outcome == "malformed":
                    self._send(200, b'{"choices": [{"message": ', "application/json")
                elif outcome == "noshape":
                    self._json(200, {"id": "x", "object": "chat.completion"})
                elif outcome == "empty":
                    self._completion("", body["model"])
                elif outcome == "nolist":
                    self._completion("### Queries\n\n", body["model"])
                elif outcome == "text":
                    self._send(200, b"oops", "text/plain")

        return Handler
