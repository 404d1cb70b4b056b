"""Every setting of the LLM teacher (:func:`skim.teach.teach`), with its default, once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from skim._params import StageParams, runtime
from skim.teach.items import DEFAULT_MAX_META_TOKENS, DEFAULT_N_KNOWN


@dataclass
class TeachParams(StageParams):
    """Settings of :func:`skim.teach.teach`.

    Parameters
    ----------
    endpoint, model
        OpenAI-compatible base URL (OpenAI, Azure v1, vLLM, Ollama, llama.cpp) and model name.
    n
        At most this many texts asked per item.
    concurrency, max_rpm
        Requests in flight, and request starts per minute (``None``: unlimited).
    sample, seed
        Which items: ``None`` all, an int that many, a float that fraction, drawn with ``seed``.
    template
        A Jinja2 template file instead of the built-in teacher prompt (see ``skim.prompts``).
    n_known
        Known partners shown per item (default 5 for labels-to-queries, 0 otherwise).
    max_meta_tokens, tokenizer
        Metadata budget (default 750 tokens for labels-to-queries, 1000 for
        queries-to-labels, as in the paper; ``None``: no limit) and how tokens are counted.
    temperature, max_tokens
        Sampling settings sent with every request (part of the cache key).
    timeout, max_retries, backoff, max_backoff
        Per-request timeout and retry policy (see :class:`~skim.teach.client.ChatClient`).
    cache_path
        The answer cache (default ``OUT.cache.jsonl``); share one across runs to reuse answers.
    api_key
        Defaults to ``$SKIM_API_KEY`` then ``$OPENAI_API_KEY``; never written anywhere.
    progress
        Show a progress bar.
    batch_api, wait, poll_interval, batch_max_requests
        Ask through the OpenAI Batch API (half price, answers within 24 h; see
        :mod:`skim.teach.batch`); wait for the batches (``False``: submit, save their ids in
        ``OUT.batch.json`` and return, a rerun collects them), polling every ``poll_interval``
        seconds; at most ``batch_max_requests`` requests per batch (the API's limit is 50,000).
        How the answers are asked, not what they are: none of these is part of the cache key
        or of the stage's settings.
    """

    endpoint: str | None = None
    model: str | None = None
    n: int = 10
    concurrency: int = 8
    max_rpm: float | None = None
    sample: int | float | None = None
    seed: int = 0
    template: str | os.PathLike | None = None
    n_known: int | None = None
    max_meta_tokens: int | None | str = "auto"
    tokenizer: Any = None
    temperature: float = 0.7
    max_tokens: int | None = 1000
    timeout: float = 120.0
    max_retries: int = 6
    backoff: float = 1.0
    max_backoff: float = 60.0
    cache_path: str | os.PathLike | None = None
    api_key: str | None = runtime()
    progress: bool = runtime(True)
    batch_api: bool = runtime(False)
    wait: bool = runtime(True)
    poll_interval: float = runtime(30.0)
    batch_max_requests: int = runtime(50_000)

    def shown(self, direction: str) -> tuple[int, int | None]:
        """Known partners shown per item and the metadata token budget, for ``direction``
        (the direction's defaults where ``n_known`` is None or the budget ``"auto"``)."""
        n_known = DEFAULT_N_KNOWN[direction] if self.n_known is None else self.n_known
        budget = self.max_meta_tokens
        return n_known, DEFAULT_MAX_META_TOKENS[direction] if budget == "auto" else budget
