"""JSONL record logs, and the files a stage writes beside its output.

A record log is append-only and flushed line by line, so a crash loses at most the records in
flight. A line torn by a crash mid-write is the only damage a crash can do; it is dropped when
the log is next opened. Any other unreadable line is an error naming the file and line.

Every stage names the files beside its output ``OUT.ext`` the same way, with :func:`sibling`:
``OUT.manifest.json`` (settings, inputs' fingerprints, counts, timings), ``OUT.failed.jsonl``...
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from skim._io import atomic_path, output_error
from skim.errors import SkimError


def sibling(out_path: str | os.PathLike, suffix: str) -> Path:
    """A file beside ``out_path``: ``demos.jsonl`` + ``.failed.jsonl`` -> ``demos.failed.jsonl``
    (the output's last suffix is replaced; a name without one gets ``suffix`` appended)."""
    out_path = Path(out_path)
    return out_path.with_name(out_path.stem + suffix)


def manifest_path(out_path: str | os.PathLike) -> Path:
    """``OUT.manifest.json`` beside ``OUT.npz``, ``OUT.txt`` or ``OUT.jsonl``."""
    return sibling(out_path, ".manifest.json")


def _repair_tail(path: Path) -> None:
    """Cut a final line that a crash left without its newline."""
    with open(path, "rb+") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        if size == 0:
            return
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return
        back = min(size, 1 << 16)
        while True:
            handle.seek(size - back)
            chunk = handle.read(back)
            cut = chunk.rfind(b"\n")
            if cut >= 0 or back == size:
                handle.truncate(size - back + cut + 1 if cut >= 0 else 0)
                return
            back = min(size, back * 2)


def json_lines(path: Path, torn_tail_ok: bool) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) of each non-blank line; SkimError names a bad line.

    With ``torn_tail_ok`` a last line without its newline (a crash mid-write) is skipped.
    """
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    if torn_tail_ok or lines[-1] == "":
        lines.pop()
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield lineno, json.loads(line)
        except json.JSONDecodeError as exc:
            raise SkimError(f"{path}, line {lineno}: not a JSON record ({exc.msg})") from None


def read_records(path: str | os.PathLike) -> dict[str, dict]:
    """All records of a JSONL cache by key (later records win); {} if the file is absent."""
    path = Path(path)
    records: dict[str, dict] = {}
    if not path.exists():
        return records
    for lineno, record in json_lines(path, torn_tail_ok=True):
        if not isinstance(record, dict) or not isinstance(record.get("key"), str):
            raise SkimError(f'{path}, line {lineno}: a record must be an object with a "key"')
        records[record["key"]] = record
    return records


class RecordLog:
    """Thread-safe appender of JSON records to one file, one line each, flushed to disk."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            _repair_tail(self.path)
        self._lock = threading.Lock()
        self._handle = open(self.path, "ab")  # noqa: SIM115 - closed in close()

    def append(self, record: dict) -> None:
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            try:
                self._handle.write(line)
                self._handle.flush()
                os.fsync(self._handle.fileno())
            except OSError as exc:  # a full disk: say which file
                raise output_error(self.path, exc) from None

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> RecordLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_records(path: str | os.PathLike, records: list[dict]) -> None:
    """Write ``records`` as a JSONL file atomically (the final demonstrations file)."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
