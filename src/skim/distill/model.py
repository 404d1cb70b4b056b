"""The student model: a pretrained causal LM (by name or path), or a tiny one built from scratch.

Offline machines have no pretrained weights, so :func:`scratch_model` builds a small
Llama-architecture model and :func:`train_tokenizer` a byte-level BPE tokenizer (``tokenizers``)
on the demonstrations themselves. :func:`load_student` opens what :func:`skim.distill.distill`
wrote, whichever kind it is, for generation.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from skim.devices import resolve_device
from skim.errors import SkimError

MANIFEST = "skim_distill.json"
SPECIAL_TOKENS = {
    "pad_token": "<pad>",
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
}


def train_tokenizer(texts: list[str], vocab_size: int = 4000):
    """A byte-level BPE tokenizer trained on ``texts``, wrapped for transformers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=SPECIAL_TOKENS["unk_token"]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS.values()),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, **SPECIAL_TOKENS)


def scratch_model(
    tokenizer, hidden_size: int = 256, num_layers: int = 4, max_length: int = 512, seed: int = 0
):
    """A randomly initialised Llama-architecture causal LM sized for ``tokenizer``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    heads = max(1, hidden_size // 64)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 3,
        num_hidden_layers=num_layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=max_length,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(seed)
    return LlamaForCausalLM(config)


def load_base(name_or_path: str, device: str | None = None, dtype: Any = None):
    """A pretrained causal LM and its tokenizer.

    ``name_or_path`` is a Hugging Face name or local folder, a ``.gguf`` file or the short name
    of a packaged model (``gemma3-270m``); the last two are converted once into the cache.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from skim.distill.gguf import resolve_base

    folder = resolve_base(name_or_path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype or "auto")
    except (OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SkimError(f"cannot load model {name_or_path!r}: {first}") from None
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model.to(resolve_device(device)), tokenizer


def read_manifest(path: str | os.PathLike) -> dict[str, Any] | None:
    """The distillation manifest in folder ``path``, or None when there is none."""
    file = Path(path) / MANIFEST
    if not file.is_file():
        return None
    return json.loads(file.read_text(encoding="utf-8"))


def resolve_student(
    model: str | None, adapter: str | None
) -> tuple[str, str | None, dict[str, Any] | None]:
    """(base model, adapter folder or None, manifest) for what the user named.

    A distilled LoRA folder may be given as ``model`` or ``adapter``: its manifest names the
    base. A from-scratch folder is a complete model.
    """
    for candidate in (adapter, model):
        manifest = read_manifest(candidate) if candidate else None
        if manifest is None:
            continue
        if manifest.get("kind") == "lora":
            return (
                (model if model and model != candidate else manifest["base"]),
                candidate,
                manifest,
            )
        return candidate, None, manifest
    if not model:
        raise SkimError("a model is needed: pass --model NAME_OR_PATH (and --adapter DIR for LoRA)")
    return model, adapter, None


def load_student(
    model: str | None, adapter: str | None = None, device: str | None = None, dtype: Any = None
):
    """(model, tokenizer, manifest) ready for generation; a LoRA adapter is merged in."""
    base, adapter, manifest = resolve_student(model, adapter)
    if not Path(base).exists() and (Path(base).is_absolute() or base.startswith(".")):
        raise SkimError(f"model path {base} does not exist")
    lm, tokenizer = load_base(base, device=device, dtype=dtype)
    if adapter:
        if not (Path(adapter) / "adapter_config.json").is_file():
            raise SkimError(f"adapter folder {adapter} has no adapter_config.json")
        from peft import PeftModel

        lm = PeftModel.from_pretrained(lm, adapter).merge_and_unload()
        if (Path(adapter) / "tokenizer_config.json").is_file():
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(adapter)
            if tokenizer.pad_token_id is None:
                tokenizer.pad_token = tokenizer.eos_token
    lm.eval()
    return lm, tokenizer, manifest
