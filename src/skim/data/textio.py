"""One-record-per-line UTF-8 text files with ``\\``, ``\n`` and ``\t`` escapes (DATASET.md)."""

from __future__ import annotations

import os
import re

from skim._io import atomic_path
from skim.data.readfile import read_text

_UNESCAPE = re.compile(r"\\(.)", re.DOTALL)
_UNESCAPE_MAP = {"\\": "\\", "n": "\n", "t": "\t"}


def escape(text: str) -> str:
    """Escape one record so that it fits on one line."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")


def unescape(line: str) -> str:
    """Invert :func:`escape`; an unknown escape such as ``\\x`` is kept as written."""
    if "\\" not in line:
        return line
    return _UNESCAPE.sub(lambda m: _UNESCAPE_MAP.get(m.group(1), m.group(0)), line)


def read_texts(path: str | os.PathLike) -> list[str]:
    """Read a text file into a list of records, unescaped.

    A trailing newline ends the last record; ``\\r\\n`` line ends are accepted.

    Raises
    ------
    DatasetError
        If the file cannot be read (missing, a directory, ...) or is not valid UTF-8 (the
        message names the line).
    """
    text = read_text(path)
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [unescape(line[:-1] if line.endswith("\r") else line) for line in lines]


def write_texts(path: str | os.PathLike, texts: list[str]) -> None:
    """Write records one per line, escaped, atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
            for text in texts:
                handle.write(escape(text))
                handle.write("\n")
