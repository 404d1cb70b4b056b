"""The ``openai`` generator: ask an OpenAI-compatible chat endpoint directly (small datasets).

The key comes from ``SKIM_API_KEY`` or ``OPENAI_API_KEY`` and never reaches a record or a
message. Requests go through :class:`skim.teach.client.ChatClient`, as the teacher's do:
429/5xx, timeouts and dropped connections are retried by the SDK, malformed replies (invalid
JSON, no choices, no list) by the client, every attempt paced by one
:class:`~skim.teach.pacer.Pacer` (``max_rpm``, and a server's ``Retry-After`` pauses every
worker), a model that refuses ``max_tokens`` gets ``max_completion_tokens`` instead, a
refused key or model stops the run, and an item still
without an answer after the last retry is returned as :class:`~skim.teach.client.ItemFailed`,
never as an empty list (``generate`` lists it as failed and asks it again on a rerun).
Requests run on a thread pool. The message is the student's compact prompt under a short
instruction; the answer is parsed one text per line.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from skim._redact import redact_url
from skim.distill.format import format_prompt, parse_completion
from skim.errors import SkimError
from skim.generate.base import Item
from skim.teach.client import ChatClient, ItemFailed

INSTRUCTIONS = {
    "queries-to-labels": "Write the labels (categories, then their broader categories) that the "
    "item belongs to.",
    "labels-to-queries": "Write diverse search queries that the item answers.",
}
# completion tokens a request may use by default (`skim generate --help` states it beside the
# student's DEFAULT_MAX_NEW_TOKENS, since --max-new-tokens sets both)
MAX_TOKENS = 256
SYSTEM = (
    "{task} Use only the metadata given, not your own knowledge. Answer with up to {n} short "
    "texts, one per line, and nothing else."
)


class OpenAIGenerator:
    """Chat completions from any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, ...)."""

    name = "openai"

    def __init__(
        self,
        model: str,
        direction: str = "queries-to-labels",
        no_metadata: bool = False,
        num_return: int = 10,
        endpoint: str | None = None,
        concurrency: int = 8,
        max_rpm: float | None = None,
        max_tokens: int = MAX_TOKENS,
        temperature: float = 0.8,
        max_retries: int = 5,
        timeout: float = 60.0,
        backoff: float = 1.0,
        max_metadata_words: int | None = 750,
        seed: int = 0,
    ) -> None:
        from skim.teach.teacher import api_key_from_env

        key = api_key_from_env()
        if not key:
            raise SkimError("the openai generator needs SKIM_API_KEY or OPENAI_API_KEY set")
        self.client = ChatClient(
            endpoint,
            model,
            api_key=key,
            params={"max_tokens": max_tokens, "temperature": temperature, "seed": seed},
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            max_backoff=max(backoff, 30.0),
            max_rpm=max_rpm,
        )
        self.direction = direction
        self.concurrency = concurrency
        self.settings: dict[str, Any] = {
            "model": model,
            "endpoint": redact_url(endpoint),
            "no_metadata": no_metadata,
            "num_return": num_return,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "max_metadata_words": max_metadata_words,
            "seed": seed,
        }

    def _ask(self, item: Item) -> list[str] | ItemFailed:
        s = self.settings
        system = SYSTEM.format(task=INSTRUCTIONS[self.direction], n=s["num_return"])
        user = format_prompt(
            item.text, item.metadata, self.direction, s["no_metadata"], s["max_metadata_words"]
        )

        def texts(answer: str) -> list[str]:
            return parse_completion(answer, s["num_return"])

        try:
            reply = self.client.complete(user, accept=lambda a: bool(texts(a)), system=system)
        except ItemFailed as exc:
            return exc
        return texts(reply.text)

    def generate(self, items: list[Item]) -> list[list[str] | ItemFailed]:
        """Texts per item, or the :class:`ItemFailed` of an item that got no usable answer."""
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            try:
                return list(pool.map(self._ask, items))
            except BaseException:  # a fatal endpoint error or an interrupt: stop the others
                self.client.stop()
                raise
