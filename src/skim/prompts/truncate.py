"""Metadata truncation by tokens (paper: 750 tokens of web page text, 1000 of an article).

With a tokenizer, the text is cut after its ``max_tokens``-th token, at the character where
that token ends, so what remains is an exact prefix of the original. Without one, a word-level
approximation is used: English text averages about 1.3 BPE tokens per word (GPT-2 and Llama
tokenizers), so ``max_tokens`` tokens keep ``floor(0.75 * max_tokens)`` whitespace-separated
words. The approximation errs on the short side for plain prose and may overshoot on text full
of numbers, URLs or rare words; pass a tokenizer when the limit is a hard context limit.
"""

from __future__ import annotations

import functools
import math
import os
import re
from typing import Any

from skim.errors import SkimError

WORDS_PER_TOKEN = 0.75
_WORD = re.compile(r"\S+")


@functools.lru_cache(maxsize=4)
def load_tokenizer(name: str) -> Any:
    """A Hugging Face fast tokenizer by hub name or local path (SkimError if unavailable)."""
    if name.startswith((os.sep, ".", "~")) and not os.path.exists(os.path.expanduser(name)):
        raise SkimError(f"tokenizer {name!r} could not be loaded (no such directory)")
    try:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(os.path.expanduser(name))
    except Exception as exc:  # noqa: BLE001 - hub, path and format errors all mean "unusable"
        raise SkimError(f"tokenizer {name!r} could not be loaded ({exc})") from None


def _token_end(text: str, max_tokens: int, tokenizer: Any) -> int | None:
    """Character offset where the ``max_tokens``-th token ends, or None if the text fits."""
    if hasattr(tokenizer, "encode") and hasattr(tokenizer, "token_to_id"):
        offsets = tokenizer.encode(text, add_special_tokens=False).offsets  # tokenizers.Tokenizer
    else:
        try:
            enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        except NotImplementedError:  # a slow tokenizer has no offsets: decode a prefix instead
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
            if len(ids) <= max_tokens:
                return None
            prefix = tokenizer.decode(ids[:max_tokens], skip_special_tokens=True)
            return len(prefix) if text.startswith(prefix) else len(prefix.rstrip())
        offsets = enc["offset_mapping"]
    if len(offsets) <= max_tokens:
        return None
    return int(offsets[max_tokens - 1][1])


def truncate_metadata(text: str, max_tokens: int | None, tokenizer: Any = None) -> str:
    """Keep at most ``max_tokens`` tokens of ``text``.

    Parameters
    ----------
    text
        The metadata (web page text, article, gloss, ...).
    max_tokens
        Token budget; ``None`` keeps everything.
    tokenizer
        ``None`` for the word-level approximation (see the module docstring), a Hugging Face
        tokenizer name or path, a ``transformers`` tokenizer or a ``tokenizers.Tokenizer``.

    Examples
    --------
    >>> truncate_metadata("one two three four five", 4)
    'one two three'
    """
    if max_tokens is None:
        return text
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise SkimError(f"max metadata tokens must be a positive integer, got {max_tokens!r}")
    if tokenizer is None:
        max_words = max(1, math.floor(WORDS_PER_TOKEN * max_tokens))
        for count, match in enumerate(_WORD.finditer(text), start=1):
            if count == max_words:
                return text[: match.end()]
        return text
    if isinstance(tokenizer, str):
        tokenizer = load_tokenizer(tokenizer)
    end = _token_end(text, max_tokens, tokenizer)
    return text if end is None else text[:end]


def count_tokens(text: str, tokenizer: Any = None) -> int:
    """Tokens of ``text``: counted by ``tokenizer`` (as in :func:`truncate_metadata`), or without
    one estimated as ``ceil(words / 0.75)``, the same rate the truncation assumes.

    Examples
    --------
    >>> count_tokens("one two three four")
    6
    """
    if tokenizer is None:
        return math.ceil(len(_WORD.findall(text)) / WORDS_PER_TOKEN)
    if isinstance(tokenizer, str):
        tokenizer = load_tokenizer(tokenizer)
    if hasattr(tokenizer, "encode") and hasattr(tokenizer, "token_to_id"):  # tokenizers.Tokenizer
        return len(tokenizer.encode(text, add_special_tokens=False).ids)
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])
