"""Read the demonstrations that ``skim teach`` writes, as (prompt, completion) training pairs."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from skim.distill.format import (
    DEFAULT_MAX_METADATA_WORDS,
    DIRECTIONS,
    format_completion,
    format_prompt,
)
from skim.errors import SkimError


@dataclass(frozen=True)
class Demonstration:
    """One worked example of the task: an item, its metadata and the texts to write for it."""

    text: str
    metadata: str
    texts: tuple[str, ...]
    direction: str

    def prompt(
        self, no_metadata: bool = False, max_metadata_words: int | None = DEFAULT_MAX_METADATA_WORDS
    ) -> str:
        return format_prompt(
            self.text, self.metadata, self.direction, no_metadata, max_metadata_words
        )

    def completion(self) -> str:
        return format_completion(list(self.texts))


def load_demonstrations(path: str | os.PathLike) -> list[Demonstration]:
    """Demonstrations from a JSONL file written by ``skim teach`` (one record per line).

    Each record needs ``text``, ``direction`` and ``texts`` (the parsed teacher output);
    ``metadata`` may be missing or null. Records with no texts are skipped (nothing to learn).
    Raises :class:`SkimError` naming the file and line for anything malformed.
    """
    path = Path(path)
    if not path.is_file():
        raise SkimError(f"demonstrations file {path} does not exist")
    from skim.teach.store import read_demonstrations

    demos: list[Demonstration] = []
    for number, record in enumerate(read_demonstrations(path, ("text", "direction", "texts")), 1):
        if record["direction"] not in DIRECTIONS:
            raise SkimError(
                f"{path}, record {number}: direction {record['direction']!r} is not one of "
                f"{', '.join(DIRECTIONS)}"
            )
        demo = Demonstration(
            str(record["text"]),
            str(record.get("metadata") or ""),
            tuple(record["texts"]),
            record["direction"],
        )
        if demo.completion():
            demos.append(demo)
    if not demos:
        raise SkimError(f"{path} holds no demonstration with texts to learn from")
    return demos


def pairs_to_demonstrations(
    pairs: Iterable[tuple[str, str | None, list[str]]], direction: str
) -> list[Demonstration]:
    """Demonstrations from ``(text, metadata, targets)`` triples, e.g. the observed train pairs."""
    return [
        Demonstration(str(text), str(meta or ""), tuple(targets), direction)
        for text, meta, targets in pairs
        if targets
    ]


def observed_pairs(
    dataset, direction: str, limit: int | None = None, seed: int = 0
) -> list[tuple[str, str | None, list[str]]]:
    """``(text, metadata, observed target texts)`` of train sources with observed partners.

    These show the student the output format (target-like texts) beside the teacher's
    demonstrations; ``limit`` keeps a random subset so training stays short.
    """
    import numpy as np

    from skim.direction import observed_partners, source_texts, target_texts

    texts, meta = source_texts(dataset, direction)
    targets = target_texts(dataset, direction)
    partners = observed_partners(dataset, direction)
    rows = np.flatnonzero(np.diff(partners.indptr) > 0)
    if limit is not None and len(rows) > limit:
        rows = np.sort(np.random.default_rng(seed).choice(rows, limit, replace=False))
    return [
        (texts[i], meta[i] if meta is not None else None, [targets[j] for j in partners[i].indices])
        for i in rows
    ]
