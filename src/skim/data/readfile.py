"""Opening a user's input file: every OSError and bad UTF-8 becomes one sentence.

A directory, a loop of symbolic links, a missing or unreadable file where an input should be
raise :class:`~skim.errors.DatasetError` naming the path and the reason, never a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from skim.errors import DatasetError

_INT_TOKEN = re.compile(r"[+-]?[0-9]+")


def os_error_sentence(path: str | os.PathLike, exc: OSError, what: str = "file") -> str:
    """One sentence naming ``path`` and why it could not be opened as a ``what``."""
    if isinstance(exc, FileNotFoundError):
        return f"{path}: {what} not found"
    if isinstance(exc, IsADirectoryError):
        return f"{path}: is a directory, not a {what}"
    if exc.errno == errno.ELOOP:
        return f"{path}: is a loop of symbolic links, not a {what}"
    if isinstance(exc, PermissionError):
        return f"{path}: permission denied (cannot read this {what})"
    return f"{path}: cannot read this {what} ({exc.strerror or exc})"


@contextlib.contextmanager
def open_input(path: str | os.PathLike, what: str = "file") -> Iterator[BinaryIO]:
    """Open ``path`` for binary reading; failing to open it is a DatasetError."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below, errors of open() only
    except OSError as exc:
        raise DatasetError(os_error_sentence(path, exc, what)) from None
    with handle:
        yield handle


def read_bytes(path: str | os.PathLike, what: str = "file") -> bytes:
    """The bytes of an input file (see :func:`open_input`)."""
    with open_input(path, what) as handle:
        try:
            return handle.read()
        except OSError as exc:
            raise DatasetError(os_error_sentence(path, exc, what)) from None


def decode_utf8(data: bytes, path: str | os.PathLike) -> str:
    """``data`` decoded as UTF-8; a bad byte is a DatasetError naming ``path`` and the line."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DatasetError(f"{path}, line {line}: not valid UTF-8 ({exc.reason})") from None


def read_text(path: str | os.PathLike, what: str = "file") -> str:
    """The UTF-8 text of an input file; any failure is one DatasetError sentence."""
    return decode_utf8(read_bytes(path, what), Path(path))


def parse_int(token: str, where: str, what: str) -> int:
    """``token`` as an integer: ASCII digits with an optional sign, nothing else.

    Python's ``int`` also takes ``1_0`` and non-ASCII digits; in a data file those are
    mistakes, so they are a DatasetError ``"{where}: {what} '1_0' is not an integer"``.
    """
    if not _INT_TOKEN.fullmatch(token):
        raise DatasetError(f"{where}: {what} {token!r} is not an integer")
    return int(token)


def parse_json(text: str, where: str) -> Any:
    """``text`` parsed as JSON; a syntax error or deep nesting is one DatasetError at ``where``."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{where}: not valid JSON ({exc})") from None
    except RecursionError:
        raise DatasetError(f"{where}: not valid JSON (nested too deeply)") from None
