"""The ``hf`` generator: a (distilled) causal LM run with transformers, on CPU or GPU.

Prompts are sorted by token length and batched, so a batch wastes little on padding (left
padding, as decoder-only generation needs). The defaults sample like the paper (temperature
0.8, top-k 200); ``temperature=0`` decodes greedily, the fastest and most reproducible.
"""

from __future__ import annotations

from skim.distill.format import parse_completion
from skim.generate.base import Item
from skim.generate.student import student_prompts, student_settings


class HFGenerator:
    """Generate with transformers from a model folder/name, optionally with a LoRA adapter."""

    name = "hf"

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
        batch_size: int = 32,
        max_metadata_words: int | None = None,
        device: str | None = None,
        seed: int = 0,
    ) -> None:
        from skim.distill.model import load_student

        self.model, self.tokenizer, manifest = load_student(model, adapter, device=device)
        self.tokenizer.padding_side = "left"
        self.direction = direction
        self.batch_size = batch_size
        self.seed = seed
        self.settings = student_settings(
            model, adapter, manifest, no_metadata, num_return, max_texts, max_new_tokens,
            temperature, top_k, max_metadata_words, seed,
        )  # fmt: skip
        self.generated_tokens = 0

    def prompts(self, items: list[Item]) -> list[str]:
        return student_prompts(items, self.direction, self.settings)

    def generate(self, items: list[Item]) -> list[list[str]]:
        import torch

        s = self.settings
        tok = self.tokenizer
        bos = [tok.bos_token_id] if tok.bos_token_id is not None else []
        encoded = [
            bos + ids for ids in tok(self.prompts(items), add_special_tokens=False)["input_ids"]
        ]
        order = sorted(range(len(items)), key=lambda i: len(encoded[i]))
        results: list[list[str]] = [[] for _ in items]
        sample = s["temperature"] > 0
        torch.manual_seed(self.seed + (items[0].source if items else 0))
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            batch = tok.pad({"input_ids": [encoded[i] for i in idx]}, return_tensors="pt")
            batch = {k: v.to(self.model.device) for k, v in batch.items()}
            with torch.inference_mode():
                out = self.model.generate(
                    **batch,
                    max_new_tokens=s["max_new_tokens"],
                    do_sample=sample,
                    temperature=s["temperature"] if sample else None,
                    top_k=s["top_k"] if sample else None,
                    top_p=None,
                    num_return_sequences=s["num_return"],
                    pad_token_id=tok.pad_token_id,
                    eos_token_id=tok.eos_token_id,
                )
            new = out[:, batch["input_ids"].shape[1] :]
            self.generated_tokens += int((new != tok.pad_token_id).sum())
            texts = tok.batch_decode(new, skip_special_tokens=True)
            for row, i in enumerate(idx):
                lines: list[str] = []
                for j in range(s["num_return"]):
                    lines.extend(texts[row * s["num_return"] + j].splitlines())
                results[i] = parse_completion("\n".join(lines), s["max_texts"])
        return results
