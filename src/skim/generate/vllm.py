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
from skim.generate.student import student_prompts, student_settings


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
        max_new_tokens: int = 64,
        temperature: float = 0.8,
        top_k: int = 200,
        max_metadata_words: int | None = None,
        gpu_memory_utilization: float = 0.9,
        max_model_len: int | None = 2048,
        seed: int = 0,
        **engine_options: Any,
    ) -> None:
        try:
            from vllm import LLM, SamplingParams
            from vllm.lora.request import LoRARequest
        except ImportError:
            raise SkimError(
                "the vllm generator needs vLLM on a GPU machine: pip install 'skim-xc[vllm]'"
            ) from None
        from transformers import AutoTokenizer

        from skim.distill.model import resolve_student

        base, adapter, manifest = resolve_student(model, adapter)
        lora_rank = (manifest or {}).get("settings", {}).get("lora_r") or 16
        lora = {"enable_lora": True, "max_lora_rank": max(8, lora_rank)} if adapter else {}
        self.llm = LLM(
            model=base,
            gpu_memory_utilization=gpu_memory_utilization,
            max_model_len=max_model_len,
            seed=seed,
            **lora,
            **engine_options,
        )
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
        bos = [self.tokenizer.bos_token_id] if self.tokenizer.bos_token_id is not None else []
        prompts = [
            {"prompt_token_ids": bos + self.tokenizer(text, add_special_tokens=False)["input_ids"]}
            for text in student_prompts(items, self.direction, s)
        ]
        outputs = self.llm.generate(prompts, self.params, lora_request=self.lora, use_tqdm=False)
        results = []
        for out in outputs:
            self.generated_tokens += sum(len(c.token_ids) for c in out.outputs)
            text = "\n".join(c.text for c in out.outputs)
            results.append(parse_completion(text, s["max_texts"]))
        return results
