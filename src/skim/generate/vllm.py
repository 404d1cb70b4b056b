"""The ``vllm`` generator: offline vLLM with the distilled LoRA adapter, for GPUs.

vLLM is an optional extra (``pip install skim-xc[vllm]``) imported only when this generator is
chosen. Prompts are tokenized by the student's own tokenizer and passed as token ids, so the
prompt is exactly what the ``hf`` generator and distillation use.
"""

from __future__ import annotations

from typing import Any

from skim.distill.format import parse_completion
from skim.errors import SkimError
from skim.generate.base import Item
from skim.generate.student import (
    DEFAULT_MAX_NEW_TOKENS,
    check_sampling,
    student_prompt_ids,
    student_settings,
)

# vLLM sizes its LoRA kernels for these ranks only (``max_lora_rank`` must be one of them)
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
# prompt (metadata cut to ~200 words) + completion fit well within this; a longer engine length
# only reserves KV cache that is never used
DEFAULT_MAX_MODEL_LEN = 2048


def vllm_lora_rank(rank: int) -> int:
    """The smallest rank vLLM accepts as ``max_lora_rank`` that holds an adapter of ``rank``."""
    for accepted in VLLM_LORA_RANKS:
        if accepted >= rank:
            return accepted
    raise SkimError(
        f"LoRA rank {rank} is above the largest vLLM serves ({VLLM_LORA_RANKS[-1]}); "
        "distil with a smaller --lora-r or use --generator hf"
    )


def engine_max_len(base: str, requested: int | None = None) -> int:
    """The engine's context length: ``requested``, else the default capped by the model's own
    position limit (vLLM refuses a length above it, e.g. a from-scratch student's 256)."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(base)
    limit = getattr(config, "max_position_embeddings", None)
    if requested is not None:
        if limit is not None and requested > limit:
            raise SkimError(
                f"--max-model-len {requested} is above the model's {limit} positions ({base})"
            )
        return requested
    return DEFAULT_MAX_MODEL_LEN if limit is None else min(DEFAULT_MAX_MODEL_LEN, limit)


def student_engine(
    model: str | None,
    adapter: str | None,
    gpu_memory_utilization: float,
    max_model_len: int | None,
    seed: int,
    engine_options: dict[str, Any],
) -> tuple[str, str | None, dict | None, dict[str, Any]]:
    """(base, adapter, manifest, the vLLM engine's arguments) for the student a user names:
    LoRA enabled at a rank vLLM serves when there is an adapter (see :func:`vllm_lora_rank`)."""
    from skim.distill.model import resolve_student

    base, adapter, manifest = resolve_student(model, adapter)
    lora_rank = (manifest or {}).get("settings", {}).get("lora_r") or 16
    lora = {"enable_lora": True, "max_lora_rank": vllm_lora_rank(lora_rank)} if adapter else {}
    engine = {
        "gpu_memory_utilization": gpu_memory_utilization,
        "max_model_len": engine_max_len(base, max_model_len),
        "seed": seed,
        **lora,
        **engine_options,
    }
    return base, adapter, manifest, engine


class VLLMGenerator:
    """Generate with ``vllm.LLM``; a LoRA adapter is applied per request (``LoRARequest``)."""

    name = "vllm"

    def __init__(
        self,
        model: str | None,
        adapter: str | None = None,
        direction: str = "queries-to-labels",
        no_metadata: bool = False,
        num_return: int = 1,
        max_texts: int = 10,
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        temperature: float = 0.8,
        top_k: int = 200,
        max_metadata_words: int | None = None,
        gpu_memory_utilization: float = 0.9,
        max_model_len: int | None = None,
        seed: int = 0,
        **engine_options: Any,
    ) -> None:
        check_sampling(num_return, temperature)
        try:
            from vllm import LLM, SamplingParams
            from vllm.lora.request import LoRARequest
        except ImportError:
            raise SkimError(
                "the vllm generator needs vLLM on a GPU machine: pip install 'skim-xc[vllm]'"
            ) from None
        from transformers import AutoTokenizer

        base, adapter, manifest, engine = student_engine(
            model, adapter, gpu_memory_utilization, max_model_len, seed, engine_options
        )
        self.llm = LLM(model=base, **engine)
        self.tokenizer = AutoTokenizer.from_pretrained(adapter or base)
        self.lora = LoRARequest("skim-student", 1, adapter) if adapter else None
        sample = temperature > 0
        sampling = {"temperature": temperature, "top_k": top_k} if sample else {"temperature": 0.0}
        self.params = SamplingParams(n=num_return, max_tokens=max_new_tokens, seed=seed, **sampling)
        self.direction = direction
        self.settings = student_settings(
            model, adapter, manifest, no_metadata, num_return, max_texts, max_new_tokens,
            temperature, top_k, max_metadata_words, seed,
        )  # fmt: skip
        self.generated_tokens = 0

    def generate(self, items: list[Item]) -> list[list[str]]:
        s = self.settings
        prompts = [
            {"prompt_token_ids": ids}
            for ids in student_prompt_ids(self.tokenizer, items, self.direction, s)
        ]
        outputs = self.llm.generate(prompts, self.params, lora_request=self.lora, use_tqdm=False)
        results = []
        for out in outputs:
            self.generated_tokens += sum(len(c.token_ids) for c in out.outputs)
            text = "\n".join(c.text for c in out.outputs)
            results.append(parse_completion(text, s["max_texts"]))
        return results
