"""Turn a teacher's or a small model's answer into a clean list of texts."""

from __future__ import annotations

import re
from collections.abc import Iterable

# list markers: "-", "*", "+", bullets and dashes, "1." "1)" "(1)" "1:" "1 -", "a)" "(a)", "[ ]"
_MARKER = re.compile(
    r"^(?:[-*+\u2022\u00b7\u2023\u25e6\u2013\u2014>]+\s+"
    r"|\(?\d{1,3}\)\s*|\d{1,3}[.:]\s+|\d{1,3}\s+[-\u2013\u2014]\s+"
    r"|\(?[a-z]\)\s+|\[[ xX]?\]\s+)"
)
# "Query 3: ...", "Q3. ...", "Label #2 - ..."
_LABELLED = re.compile(
    r"^(?:q|query|queries|label|labels|category|categories)\s*#?\d{1,3}\s*[:.)\-\u2013]\s*",
    re.IGNORECASE,
)
_HEADING = re.compile(r"^(?:#{1,6}\s|#{1,6}$|[=\-_*~]{3,}$)")
_CHATTER = re.compile(
    r"^(?:sure|certainly|of course|okay|ok|here (?:are|is)|below (?:are|is))\b", re.IGNORECASE
)
_FENCE = re.compile(r"^(?:```|~~~)")
_WRAPPERS = (("**", "**"), ("__", "__"), ("*", "*"), ("_", "_"), ("`", "`"))
_QUOTES = (('"', '"'), ("'", "'"), ("\u201c", "\u201d"), ("\u2018", "\u2019"))
_SPACE = re.compile(r"\s+")


def _unwrap(text: str) -> str:
    """Remove emphasis and quotes around the whole text, repeatedly."""
    changed = True
    while changed and text:
        changed = False
        for left, right in _WRAPPERS + _QUOTES:
            if (
                len(text) > len(left) + len(right)
                and text.startswith(left)
                and text.endswith(right)
            ):
                text = text[len(left) : len(text) - len(right)].strip()
                changed = True
    return text


def _clean(line: str) -> str | None:
    """The text of one list line, or None if the line is not an item."""
    line = line.strip()
    if not line or _FENCE.match(line) or _HEADING.match(line) or line.startswith("|"):
        return None
    has_marker = False
    while True:  # "1. - foo" and "- 1. foo" happen
        stripped = _LABELLED.sub("", _MARKER.sub("", line, count=1), count=1)
        if stripped == line:
            break
        has_marker, line = True, stripped.strip()
    line = _unwrap(line)
    if not line:
        return None
    if line.endswith(":"):  # a heading or a preamble such as "Here are the queries:"
        return None
    if not has_marker and _CHATTER.match(line):
        return None
    line = line.rstrip(",;")
    last = line.rsplit(" ", 1)[-1]
    if line.endswith(".") and "." not in last[:-1]:  # "Rift lakes." but not "U.S."
        line = line[:-1]
    line = _unwrap(_SPACE.sub(" ", line).strip())
    return line or None


def _split_inline(line: str) -> list[str]:
    """Split a one-line answer such as ``a; b; c`` or ``a, b, c`` (two or more separators)."""
    for sep in (";", ","):
        parts = [p.strip() for p in line.split(sep)]
        if len(parts) >= 3 and all(parts):
            return parts
    return [line]


def dedupe(texts: Iterable[str]) -> list[str]:
    """Drop empty texts and repeats (case- and whitespace-insensitive), keeping first forms."""
    seen: set[str] = set()
    out = []
    for text in texts:
        text = _SPACE.sub(" ", text).strip()
        key = text.casefold()
        if text and key not in seen:
            seen.add(key)
            out.append(text)
    return out


def parse_response(text: str) -> list[str]:
    """Parse a list answer into clean, de-duplicated texts, in order.

    Accepts one text per line, numbered (``1.``, ``1)``, ``(1)``) or bulleted (``-``, ``*``,
    ``\u2022``) lists, markdown headings and sections (``### Labels``, ``Immediate
    categories:``), indented sub-lists, blank lines, code fences, bold or quoted items and a
    chatty preamble ("Here are 10 queries:"). A single line holding three or more items
    separated by ``;`` or ``,`` is split. Items are kept verbatim apart from markers, wrapping
    quotes or emphasis, a trailing ``,``/``;``/sentence ``.`` and repeated whitespace.

    Examples
    --------
    >>> parse_response("Here are some queries:\\n1. **exon definition**\\n2) Exon\\n- intron")
    ['exon definition', 'Exon', 'intron']
    """
    lines = [line for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    items = [item for item in (_clean(line) for line in lines) if item is not None]
    if len(items) == 1:
        items = [part for piece in _split_inline(items[0]) for part in [_clean(piece)] if part]
    return dedupe(items)


def format_completion(texts: Iterable[str]) -> str:
    """The completion a demonstration teaches: one text per line (inverse of parse_response)."""
    return "\n".join(_SPACE.sub(" ", t).strip() for t in texts if t.strip())
