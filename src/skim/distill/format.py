"""The student's prompt format, used identically when distilling and when generating.

A teacher's prompt is long (task description, in-context examples); the student sees only the
item and its metadata, because fine-tuning has taught it the task (paper appendix E.1)::

    task: queries-to-labels
    item: <item text>
    metadata: <metadata, truncated to a word budget>
    output:

and its completion is the synthetic texts, one per line, closed by the end-of-sequence token.
With ``no_metadata`` the ``metadata:`` line is left out (the UDAPDR-style ablation, Table 3).
"""

from __future__ import annotations

import re

from skim.direction import DIRECTIONS, check_direction
from skim.prompts.parse import format_completion

__all__ = [
    "DEFAULT_MAX_METADATA_WORDS",
    "DIRECTIONS",
    "FORMAT_VERSION",
    "check_direction",
    "format_completion",
    "format_prompt",
    "parse_completion",
    "truncate_words",
]

FORMAT_VERSION = 1
# Metadata words in a prompt (the authors: 750 tokens of ORCAS page content). WordNet glosses
# never reach it (p99 32 words, max 82; benchmarks/RESULTS.md, "Distillation on transformers'
# Trainer"); for long documents 200 words (about 240 Gemma tokens) keep the prompt, the CPU's
# main cost, at a third of the authors' 750 tokens. Raise it with max_metadata_words.
DEFAULT_MAX_METADATA_WORDS = 200

_BULLET = re.compile(r"^\s*(?:[-*\u2022]+|\(?\d{1,3}[.):]|[a-z][.)])\s+")
_SPACES = re.compile(r"\s+")


def _one_line(text: str) -> str:
    return _SPACES.sub(" ", str(text or "")).strip()


def truncate_words(text: str, max_words: int | None) -> str:
    """``text`` on one line, cut to its first ``max_words`` words (None keeps it whole)."""
    text = _one_line(text)
    if max_words is None:
        return text
    words = text.split(" ")
    return " ".join(words[:max_words]) if len(words) > max_words else text


def format_prompt(
    text: str,
    metadata: str | None,
    direction: str,
    no_metadata: bool = False,
    max_metadata_words: int | None = DEFAULT_MAX_METADATA_WORDS,
) -> str:
    """The student's prompt for one item; it ends where the completion begins."""
    lines = [f"task: {direction}", f"item: {_one_line(text)}"]
    if not no_metadata:
        lines.append(f"metadata: {truncate_words(metadata or '', max_metadata_words)}")
    lines.append("output:")
    return "\n".join(lines) + "\n"


def parse_completion(completion: str, max_texts: int | None = None) -> list[str]:
    """Clean, de-duplicated texts from a generated completion, one per line.

    Bullets and numbering are stripped, so a teacher-style list parses too; duplicates are
    compared case-insensitively and the first spelling is kept.
    """
    seen: set[str] = set()
    texts: list[str] = []
    for line in completion.splitlines():
        line = _one_line(_BULLET.sub("", line)).strip(" \"'")
        key = line.lower()
        if not line or key in seen or key.endswith(":"):
            continue
        seen.add(key)
        texts.append(line)
        if max_texts is not None and len(texts) >= max_texts:
            break
    return texts
