"""What the model generators (hf, vllm) share: the distilled student's settings and prompts."""

from __future__ import annotations

from typing import Any

from skim.distill.format import DEFAULT_MAX_METADATA_WORDS, format_prompt
from skim.errors import SkimError
from skim.generate.base import Item

# New tokens per completion (the authors: 250 for ORCAS queries, 400-500 for Wikipedia titles).
# Measured on the WordNet demo data's gold demonstrations (benchmarks/RESULTS.md, "Distillation
# on transformers' Trainer"): the first 10 texts (what the generator keeps) need p99 55 Gemma
# tokens, max 67, so 64 lost a 10th text on 0.01% of items; but it stopped 12% of the lists
# before their end token, and texts twice as long as these label names (queries, titles) would
# lose half the list. 128 ends 99.99% of the lists and writes 4% more tokens than 64 here.
DEFAULT_MAX_NEW_TOKENS = 128


def check_sampling(num_return: int, temperature: float) -> None:
    """Refuse settings the decoder cannot honour, before a model is loaded."""
    if temperature < 0:
        raise SkimError(f"--temperature must be >= 0, not {temperature:g}")
    if temperature == 0 and num_return > 1:
        raise SkimError(
            f"--temperature 0 decodes greedily and gives one text per item, not "
            f"--num-return {num_return}: use --num-return 1 or a temperature above 0"
        )


def student_settings(
    model: str | None,
    adapter: str | None,
    manifest: dict | None,
    no_metadata: bool,
    num_return: int,
    max_texts: int,
    max_new_tokens: int,
    temperature: float,
    top_k: int,
    max_metadata_words: int | None,
    seed: int,
) -> dict[str, Any]:
    """The settings recorded with every record; metadata truncation follows the distillation's."""
    if max_metadata_words is None:
        max_metadata_words = (manifest or {}).get("max_metadata_words", DEFAULT_MAX_METADATA_WORDS)
    return {
        "model": model,
        "adapter": adapter,
        "no_metadata": no_metadata,
        "num_return": num_return,
        "max_texts": max_texts,
        "max_new_tokens": max_new_tokens,
        "temperature": temperature,
        "top_k": top_k,
        "max_metadata_words": max_metadata_words,
        "seed": seed,
    }


def student_prompts(items: list[Item], direction: str, settings: dict[str, Any]) -> list[str]:
    """The prompts the student was distilled on, one per item."""
    return [
        format_prompt(
            it.text, it.metadata, direction, settings["no_metadata"], settings["max_metadata_words"]
        )
        for it in items
    ]


def student_prompt_ids(
    tokenizer: Any, items: list[Item], direction: str, settings: dict[str, Any]
) -> list[list[int]]:
    """The student's prompts as token ids, each after the start-of-text token when the
    tokenizer has one, as in distillation (one batched call, no padding)."""
    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    prompts = student_prompts(items, direction, settings)
    return [bos + ids for ids in tokenizer(prompts, add_special_tokens=False)["input_ids"]]
