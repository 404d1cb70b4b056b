"""Every setting of the student's fine-tuning (:func:`skim.distill.distill`), once."""

from __future__ import annotations

from dataclasses import dataclass

from skim._params import StageParams, runtime
from skim.argtypes import check_positive_int
from skim.distill.format import DEFAULT_MAX_METADATA_WORDS

PRECISIONS = ("auto", "bf16", "fp32")
"""The values of ``precision`` (see :class:`DistillParams`)."""


@dataclass
class DistillParams(StageParams):
    """Settings of :func:`skim.distill.distill`.

    Parameters
    ----------
    base
        Hugging Face name or local folder of a pretrained causal LM (LoRA fine-tuning).
    from_scratch
        Train a tiny Llama (``hidden_size``, ``num_layers``, ``vocab_size``) and a BPE
        tokenizer instead.
    lora_r, lora_alpha, target_modules
        The LoRA adapter (``lora_alpha`` None: ``2 * lora_r``; modules None: peft's default for
        the architecture, e.g. ``q_proj`` and ``v_proj``).
    epochs, max_steps
        Passes over the data, or stop after ``max_steps`` optimizer steps.
    seed, batch_size, learning_rate, max_length
        Optimisation (``learning_rate`` None: 1e-3 from scratch, 2e-4 for LoRA); ``batch_size``
        is the examples per device and forward pass.
    gradient_accumulation
        Forward passes summed into one optimizer step: the step sees ``batch_size *
        gradient_accumulation`` examples (times the GPUs) in the memory of ``batch_size``.
    gradient_checkpointing
        Recompute activations in the backward pass instead of keeping them: far less memory
        for a large student (a 7B base), about a third more compute; results are unchanged.
    no_metadata
        Leave metadata out of the prompts (the UDAPDR-style ablation); generation must match.
    max_metadata_words
        Metadata words kept in a prompt.
    checkpoint_every
        Optimizer steps between checkpoints (a rerun resumes from the last one).
    precision
        ``bf16`` keeps the frozen base in bfloat16 and runs the matrix products in bfloat16
        (autocast; the LoRA weights and the optimizer stay float32), several times faster where
        the hardware has bf16 units (AMX CPUs, recent GPUs); ``fp32`` does not; ``auto`` takes
        ``bf16`` for LoRA where it is fast.
    device, show_progress
        Torch device (None: the fastest available) and a progress bar.
    """

    base: str | None = None
    from_scratch: bool = False
    # the authors' adapter: r 8 (alpha 16) on every linear layer of attention and MLP. On Gemma 3
    # 270M (benchmarks/RESULTS.md, "Distillation on transformers' Trainer") it trains 1.9M
    # weights against 0.74M for r 16 on peft's default q_proj/v_proj, for 7.5% more CPU per step
    # in fp32 and 1.35x in bf16. Not their LoRA on the head: Gemma's head is its 262K-token
    # embedding (tied). Quality: held-out loss 1.03 against 2.06 for r 16 q/v at equal steps,
    # 1.56 at equal CPU (RESULTS.md, "LoRA adapter quality")
    lora_r: int = 8
    epochs: float = 2
    max_steps: int | None = None
    seed: int = 0
    no_metadata: bool = False
    max_metadata_words: int | None = DEFAULT_MAX_METADATA_WORDS
    # not the authors' batch 64, which makes a CPU step 4x longer: batch_size 16 x
    # gradient_accumulation 4 gives their 64 where time allows (RESULTS.md, "Distillation on
    # transformers' Trainer")
    batch_size: int = 16
    gradient_accumulation: int = 1
    # None: 2e-4 with LoRA (theirs is 3e-4; not measured), 1e-3 from scratch; their schedule,
    # warm-up then cosine, is the one used
    learning_rate: float | None = None
    # tokens per example: a prompt with the default 200 metadata words (about 245 Gemma tokens,
    # 1.2 per word on WordNet) and a header, plus a 128-token completion; at 256 such a prompt
    # lost its first lines (the task and the item: the prompt is cut from the left)
    max_length: int = 512
    checkpoint_every: int = 200
    hidden_size: int = 256
    num_layers: int = 4
    vocab_size: int = 4000
    lora_alpha: int | None = None
    target_modules: list[str] | str | None = "all-linear"
    precision: str = "auto"
    gradient_checkpointing: bool = runtime(False)
    device: str | None = runtime()
    show_progress: bool = runtime(True)

    def __post_init__(self) -> None:
        check_positive_int("gradient_accumulation", self.gradient_accumulation)
