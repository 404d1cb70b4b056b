"""A command's result on stdout: text for a person, or with ``--json`` JSON for a program.

With ``--json`` stdout holds one JSON document and nothing else (progress, warnings and stage
lines go to stderr through the ``skim`` logger), so ``skim stats DATA --json | jq .labels``
works for every command that prints a result.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Mapping
from typing import Any


def add_json_flag(parser: argparse.ArgumentParser, what: str = "the result") -> None:
    """The ``--json`` option every command that prints a result has."""
    parser.add_argument(
        "--json", action="store_true", help=f"print {what} as JSON on stdout, and nothing else"
    )


def format_fields(summary: Mapping[str, Any]) -> str:
    """``key: value`` lines, keys right-aligned: a summary for a terminal."""
    width = max((len(str(key)) for key in summary), default=0)
    return "\n".join(f"{key:>{width}}: {value}" for key, value in summary.items())


def _plain(value: Any) -> Any:
    """What ``json`` cannot write by itself: numpy numbers and arrays, paths."""
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def to_json(result: Any) -> str:
    """``result`` as indented JSON (numpy values and paths as plain numbers and strings)."""
    return json.dumps(result, indent=2, default=_plain)


def print_result(
    result: Any, as_json: bool, text: str | Callable[[Any], str] = format_fields
) -> None:
    """Print ``result``: as JSON when ``as_json``, else ``text`` (a string, or a function of
    the result; default ``key: value`` lines)."""
    print(to_json(result) if as_json else text if isinstance(text, str) else text(result))
