"""The ``openai`` generator: ask an OpenAI-compatible chat endpoint directly (small datasets).

The key comes from ``SKIM_API_KEY`` or ``OPENAI_API_KEY`` and never reaches a record. The SDK
retries 429/5xx/timeouts with backoff (``max_retries``); requests run on a thread pool. The
message is the student's compact prompt under a short instruction; the answer is parsed one
text per line.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from skim.distill.format import format_prompt, parse_completion
from skim.errors import SkimError
from skim.generate.base import Item

INSTRUCTIONS = {
    "queries-to-labels": "Write the labels (categories, then their broader categories) that the "
    "item belongs to.",
    "labels-to-queries": "Write diverse search queries that the item answers.",
}
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
        max_tokens: int = 256,
        temperature: float = 0.8,
        max_retries: int = 5,
        timeout: float = 60.0,
        max_metadata_words: int | None = 750,
        seed: int = 0,
    ) -> None:
        from openai import OpenAI

        from skim.teach.teacher import api_key_from_env

        key = api_key_from_env()
        if not key:
            raise SkimError("the openai generator needs SKIM_API_KEY or OPENAI_API_KEY set")
        self.client = OpenAI(
            api_key=key, base_url=endpoint, max_retries=max_retries, timeout=timeout
        )
        self.direction = direction
        self.concurrency = concurrency
        self.settings: dict[str, Any] = {
            "model": model,
            "endpoint": endpoint,
            "no_metadata": no_metadata,
            "num_return": num_return,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "max_metadata_words": max_metadata_words,
            "seed": seed,
        }

    def _ask(self, item: Item) -> list[str]:
        import openai

        s = self.settings
        system = SYSTEM.format(task=INSTRUCTIONS[self.direction], n=s["num_return"])
        user = format_prompt(
            item.text, item.metadata, self.direction, s["no_metadata"], s["max_metadata_words"]
        )
        try:
            reply = self.client.chat.completions.create(
                model=s["model"],
                messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
                max_tokens=s["max_tokens"],
                temperature=s["temperature"],
                seed=s["seed"],
            )
            content = reply.choices[0].message.content or ""
        except openai.AuthenticationError:
            raise SkimError(
                "the endpoint refused the API key (SKIM_API_KEY / OPENAI_API_KEY)"
            ) from None
        except (openai.APIError, IndexError, AttributeError):
            return []
        return parse_completion(content, s["num_return"])

    def generate(self, items: list[Item]) -> list[list[str]]:
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(self._ask, items))
