"""The ``hf`` generator: a (distilled) causal LM run with transformers, on CPU or GPU.

Prompts are sorted by token length and batched, so a batch wastes little on padding (left
padding, as decoder-only generation needs), and decoded by :func:`skim.generate.decode.decode`
(last-position logits only, finished rows leave the batch). The defaults sample like the paper
(temperature 0.8, top-k 200); ``temperature=0`` decodes greedily, the fastest and most
reproducible. Where the hardware multiplies bfloat16 fast (AMX CPUs, GPUs), the model runs in
bfloat16 (``precision``). ``vocabulary="dataset"`` restricts the output tokens to those of the
dataset's texts: cheaper, but it changes what the model may write. ``constrain="labels"``
(queries-to-labels only) lets it write label names only (:mod:`skim.generate.constrain`).
"""

from __future__ import annotations

from skim.distill.format import parse_completion
from skim.errors import SkimError
from skim.generate.base import Item
from skim.generate.constrain import LabelTrie
from skim.generate.decode import Head, Sampling, dataset_vocabulary, decode
from skim.generate.student import (
    DEFAULT_MAX_NEW_TOKENS,
    check_sampling,
    student_prompt_ids,
    student_prompts,
    student_settings,
)

VOCABULARIES = ("full", "dataset")
CONSTRAINTS = ("none", "labels")


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
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        temperature: float = 0.8,
        top_k: int = 200,
        batch_size: int = 32,
        max_metadata_words: int | None = None,
        device: str | None = None,
        seed: int = 0,
        precision: str = "auto",
        vocabulary: str = "full",
        vocabulary_texts: list[str] | None = None,
        constrain: str = "none",
        constraint_texts: list[str] | None = None,
    ) -> None:
        import torch

        from skim.devices import resolve_device
        from skim.distill.model import load_student
        from skim.distill.train import resolve_precision

        check_sampling(num_return, temperature)
        _check_output_options(direction, vocabulary, vocabulary_texts, constrain, constraint_texts)
        device = resolve_device(device)
        precision = resolve_precision(precision, device)
        dtype = torch.bfloat16 if precision == "bf16" else torch.float32
        self.model, self.tokenizer, manifest = load_student(model, adapter, device, dtype)
        self.direction = direction
        self.batch_size = batch_size
        self.seed = seed
        self.settings = student_settings(
            model, adapter, manifest, no_metadata, num_return, max_texts, max_new_tokens,
            temperature, top_k, max_metadata_words, seed,
        )  # fmt: skip
        self.settings.update(precision=precision, vocabulary=vocabulary)
        if constrain != "none":
            self.settings["constrain"] = constrain  # recorded only when used: old keys stay
        self.ends = ends = self._end_ids()
        keep_ids = (
            dataset_vocabulary(self.tokenizer, vocabulary_texts, ends + self._newline_ids())
            if vocabulary == "dataset"
            else None
        )
        constraint = (
            LabelTrie.from_texts(self.tokenizer, constraint_texts, ends)
            if constrain == "labels"
            else None
        )
        self.head = Head(self.model, keep_ids, constraint)  # once, not per batch
        self.generated_tokens = 0
        self.progress = lambda n: None  # called with the items each finished batch covered

    def prompts(self, items: list[Item]) -> list[str]:
        return student_prompts(items, self.direction, self.settings)

    def generate(self, items: list[Item]) -> list[list[str]]:
        import torch

        s = self.settings
        tok = self.tokenizer
        encoded = student_prompt_ids(tok, items, self.direction, s)
        order = sorted(range(len(items)), key=lambda i: len(encoded[i]))
        results: list[list[str]] = [[] for _ in items]
        rng = torch.Generator(device=self.model.device)
        rng.manual_seed(self.seed + (items[0].source if items else 0))
        sampling = Sampling(s["temperature"], s["top_k"], s["num_return"], rng)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            prompts = [encoded[i] for i in idx]
            new = decode(
                self.model, prompts, s["max_new_tokens"], self.ends, tok.pad_token_id, sampling,
                self.head,
            )  # fmt: skip
            self.generated_tokens += sum(len(row) for row in new)
            texts = tok.batch_decode(new, skip_special_tokens=True)
            for row, i in enumerate(idx):
                lines: list[str] = []
                for j in range(s["num_return"]):
                    lines.extend(texts[row * s["num_return"] + j].splitlines())
                results[i] = parse_completion("\n".join(lines), s["max_texts"])
            self.progress(len(idx))
        return results

    def _end_ids(self) -> list[int]:
        """End-of-sequence ids: the tokenizer's and the model's generation config's."""
        ends = {self.tokenizer.eos_token_id}
        configured = getattr(getattr(self.model, "generation_config", None), "eos_token_id", None)
        if configured is not None:
            ends.update(configured if isinstance(configured, list) else [configured])
        return sorted(e for e in ends if e is not None)

    def _newline_ids(self) -> list[int]:
        return self.tokenizer("\n", add_special_tokens=False)["input_ids"]


def _check_output_options(direction, vocabulary, vocabulary_texts, constrain, constraint_texts):
    """One-sentence errors for an output vocabulary or constraint that cannot work."""
    if vocabulary not in VOCABULARIES:
        choices = ", ".join(VOCABULARIES)
        raise SkimError(f"vocabulary must be one of {choices}, got {vocabulary!r}")
    if vocabulary == "dataset" and not vocabulary_texts:
        raise SkimError("vocabulary='dataset' needs the dataset's texts")
    if constrain not in CONSTRAINTS:
        raise SkimError(f"constrain must be one of {', '.join(CONSTRAINTS)}, got {constrain!r}")
    if constrain == "labels":
        if direction != "queries-to-labels" or not constraint_texts:
            raise SkimError("constrain='labels' works for queries-to-labels, given the labels")
        if vocabulary != "full":
            raise SkimError("constrain='labels' restricts the vocabulary itself; leave it full")
