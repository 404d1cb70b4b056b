"""The demonstrations file that ``skim teach`` writes and ``skim distill`` reads.

Teacher answers are cached in an append-only JSONL record log (:class:`skim.records.RecordLog`)
keyed by ``record["key"]``; the final demonstrations file is written whole.
"""

from __future__ import annotations

import os
from pathlib import Path

from skim.errors import SkimError
from skim.records import json_lines

DEMONSTRATION_KEYS = (
    "source", "texts", "direction", "text", "metadata", "known", "prompt", "completion", "teacher"
)  # fmt: skip


def read_demonstrations(
    path: str | os.PathLike, require: tuple[str, ...] = DEMONSTRATION_KEYS
) -> list[dict]:
    """Read a demonstrations file (``teach`` output), checking every record's fields.

    ``require=("source", "texts")`` reads any SYNTHETIC.jsonl of the mapping stage.

    Raises
    ------
    SkimError
        Naming the file and line of a record that is not JSON or lacks a field, or whose
        ``source`` is not an integer or ``texts`` not a list of strings.
    """
    path = Path(path)
    if not path.exists():
        raise SkimError(f"{path}: demonstrations file not found")
    records = []
    for lineno, record in json_lines(path, torn_tail_ok=False):
        missing = [k for k in require if not isinstance(record, dict) or k not in record]
        if missing:
            raise SkimError(f"{path}, line {lineno}: missing {', '.join(missing)}")
        source, texts = record.get("source"), record.get("texts", [])
        if "source" in require and (isinstance(source, bool) or not isinstance(source, int)):
            raise SkimError(f'{path}, line {lineno}: "source" must be an integer')
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise SkimError(f'{path}, line {lineno}: "texts" must be a list of strings')
        records.append(record)
    return records
