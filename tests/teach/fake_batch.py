"""A local OpenAI Batch API (loopback only): files, batches, and faults on request.

``POST /v1/files`` takes the SDK's multipart upload, ``POST /v1/batches`` starts a batch over an
uploaded file, ``GET /v1/batches/{id}`` reports it (it ends on its ``polls``-th retrieve) and
``GET /v1/files/{id}/content`` serves input, output and error files. Each item (``item-<k>``
in its prompt) has a queue of outcomes, one per submission: ``"ok"`` (the default once the
queue is empty: :func:`answer_for`'s list), ``"error"`` (an error-file line with an ``error``
object), ``"500"`` (an error-file line whose response has status 500), ``"nolist"`` (answered,
with no list in it) and ``"late"`` (an error line ``batch_expired``, as the API writes for a
request its batch never ran).
"""

from __future__ import annotations

import _thread
import json
import re
import signal
import threading
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .fake_openai import ITEM, JsonHandler, answer_for, completion


class FakeBatchServer:
    """Start with ``with FakeBatchServer(faults) as server: ... server.url ...``.

    ``polls``: a batch ends on its ``polls``-th retrieve; ``ends``: the statuses the first
    batches end with (``"expired"``: with the answers it has, ``"failed"``: none, as when its
    input is refused), the others end ``"completed"``; ``reject``: ``POST /v1/files`` answers
    this status; ``drop_create``: that many batch creations succeed but their answer is lost
    (the connection closes). Ctrl-C as a user would press it (the main thread is interrupted
    once the client has this answer): ``interrupt_at``, at that retrieve (counting every
    batch) while the batch still runs; ``interrupt_create``, once the first batch has been
    created.
    """

    def __init__(
        self,
        faults: dict[str, list[str]] | None = None,
        polls: int = 2,
        ends: tuple[str, ...] = (),
        reject: int | None = None,
        interrupt_at: int | None = None,
        interrupt_create: bool = False,
        drop_create: int = 0,
    ) -> None:
        self.faults = {k: list(v) for k, v in (faults or {}).items()}
        self.polls, self.ends, self.reject = polls, ends, reject
        self.interrupt_at, self.interrupt_create = interrupt_at, interrupt_create
        self.drop_create = drop_create  # creates that make the batch, then drop the connection
        self.lock = threading.Lock()
        self.files: dict[str, bytes] = {}
        self.uploads: list[list[dict]] = []  # the request lines of every uploaded file
        self.batches: dict[str, dict] = {}
        self.retrieved: list[str] = []
        self.auth: set[str] = set()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(  # a short poll: shutdown() returns at once
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def asked(self) -> list[list[str]]:
        """The items of every uploaded file, in upload order."""
        with self.lock:
            return [[_item(line) for line in upload] for upload in self.uploads]

    def __enter__(self) -> FakeBatchServer:
        # interrupt_main() does nothing where SIGINT is ignored, as it is in a background job
        # (`pytest &` in a script): Ctrl-C must raise KeyboardInterrupt while this server runs
        self.sigint = signal.signal(signal.SIGINT, signal.default_int_handler)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        signal.signal(signal.SIGINT, self.sigint)

    def _upload(self, content_type: str, body: bytes) -> dict:
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        form = BytesParser(policy=HTTP).parsebytes(head + body)
        parts = {
            part.get_param("name", header="content-disposition"): part for part in form.iter_parts()
        }
        assert parts["purpose"].get_payload(decode=True) == b"batch"
        data = parts["file"].get_payload(decode=True)
        with self.lock:
            file_id = f"file-{len(self.files) + 1}"
            self.files[file_id] = data
            self.uploads.append([json.loads(line) for line in data.decode().splitlines()])
        filename = parts["file"].get_filename()
        return {"id": file_id, "object": "file", "bytes": len(data), "created_at": 0,
                "filename": filename, "purpose": "batch", "status": "processed"}  # fmt: skip

    def _create(self, request: dict) -> dict:
        assert request["endpoint"] == "/v1/chat/completions"
        assert request["completion_window"] == "24h"
        with self.lock:
            lines = [json.loads(line) for line in self.files[request["input_file_id"]].split(b"\n")
                     if line.strip()]  # fmt: skip
            batch_id = f"batch_{len(self.batches) + 1}"
            self.batches[batch_id] = {
                "id": batch_id,
                "input_file_id": request["input_file_id"],
                "lines": lines,
                "retrieves": 0,
                "status": "validating",
                "ends": self.ends[len(self.batches)]
                if len(self.batches) < len(self.ends)
                else "completed",
                "output_file_id": None,
                "error_file_id": None,
            }
            if self.interrupt_create:
                self.interrupt_create = False
                _thread.interrupt_main()
            return self._shown(self.batches[batch_id])

    def _retrieve(self, batch_id: str) -> dict:
        with self.lock:
            batch = self.batches[batch_id]
            self.retrieved.append(batch_id)
            batch["retrieves"] += 1
            if batch["status"] not in ("completed", "expired", "failed"):
                if batch["retrieves"] >= self.polls:
                    self._end(batch)
                else:
                    batch["status"] = "in_progress"
                    if len(self.retrieved) == self.interrupt_at:
                        _thread.interrupt_main()  # the client gets this answer, then Ctrl-C
            return self._shown(batch)

    def _end(self, batch: dict) -> None:
        batch["status"] = batch["ends"]
        output, errors = [], []
        if batch["status"] == "failed":
            batch["errors"] = {"object": "list", "data": [
                {"code": "invalid_model", "message": "injected: no such model", "line": 1},
                {"code": "too_long", "message": "injected: line 2 is too long", "line": 2},
            ]}  # fmt: skip
            return
        for n, line in enumerate(batch["lines"]):
            item = _item(line)
            queue = self.faults.get(item, [])
            outcome = queue.pop(0) if queue else "ok"
            base = {"id": f"batch_req_{n}", "custom_id": line["custom_id"]}
            if outcome == "late":  # as the API writes a request its batch never ran
                code = "batch_cancelled" if batch["status"] == "cancelled" else "batch_expired"
                message = "This request could not be executed before the batch ended."
                errors.append(
                    {**base, "response": None, "error": {"code": code, "message": message}}
                )
                continue
            if outcome == "error":
                error = {"code": "invalid_request", "message": f"injected error for {item}"}
                errors.append({**base, "response": None, "error": error})
            elif outcome == "500":
                body = {"error": {"message": "injected 500", "type": "server_error"}}
                response = {"status_code": 500, "request_id": f"req_{n}", "body": body}
                errors.append({**base, "response": response, "error": None})
            else:
                text = answer_for(item) if outcome == "ok" else "### Queries\n\n"
                body = completion(text, line["body"]["model"])
                response = {"status_code": 200, "request_id": f"req_{n}", "body": body}
                output.append({**base, "response": response, "error": None})
        for kind, lines in (("output_file_id", output), ("error_file_id", errors)):
            if lines:
                file_id = f"file-{len(self.files) + 1}"
                self.files[file_id] = "".join(json.dumps(x) + "\n" for x in lines).encode()
                batch[kind] = file_id
        batch["counts"] = (len(output), len(errors))

    @staticmethod
    def _shown(batch: dict) -> dict:
        done, failed = batch.get("counts", (0, 0))
        return {
            "id": batch["id"],
            "object": "batch",
            "endpoint": "/v1/chat/completions",
            "input_file_id": batch["input_file_id"],
            "completion_window": "24h",
            "status": batch["status"],
            "created_at": 0,
            "output_file_id": batch["output_file_id"],
            "error_file_id": batch["error_file_id"],
            "request_counts": {"total": len(batch["lines"]), "completed": done, "failed": failed},
            "errors": batch.get("errors"),
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(JsonHandler):
            def _authorised(self) -> None:
                with server.lock:
                    server.auth.add(self.headers.get("Authorization", ""))

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                self._authorised()
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path == "/v1/files":
                    if server.reject is not None:
                        error = {"error": {"message": "Incorrect API key provided"}}
                        self._json(server.reject, error)
                        return
                    self._json(200, server._upload(self.headers["Content-Type"], body))
                elif self.path == "/v1/batches":
                    created = server._create(json.loads(body))
                    with server.lock:
                        dropped, server.drop_create = server.drop_create > 0, server.drop_create - 1
                    if dropped:  # the batch exists, but its answer is lost on the way
                        self.close_connection = True
                        return
                    self._json(200, created)
                else:
                    self._json(404, {"error": {"message": f"no route {self.path}"}})

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self._authorised()
                if self.path.startswith("/v1/batches?"):  # the list, newest first
                    with server.lock:
                        shown = [server._shown(b) for b in reversed(server.batches.values())]
                    self._json(200, {"object": "list", "data": shown, "has_more": False})
                    return
                batch = re.fullmatch(r"/v1/batches/([\w-]+)", self.path)
                content = re.fullmatch(r"/v1/files/([\w-]+)/content", self.path)
                if batch and batch[1] in server.batches:
                    self._json(200, server._retrieve(batch[1]))
                elif content and content[1] in server.files:
                    self._send(200, server.files[content[1]], "application/octet-stream")
                else:
                    self._json(404, {"error": {"message": f"no route {self.path}"}})

        return Handler


def _item(line: dict) -> str:
    found = ITEM.findall(line["body"]["messages"][-1]["content"])
    return found[-1] if found else "?"
