"""Supervised fine-tuning of the student on demonstrations, loss on the completion only.

Two ways, one loop: LoRA (peft) on a pretrained causal LM, or a tiny Llama trained from scratch
with its own tokenizer. Training checkpoints every ``checkpoint_every`` steps (trainable weights
in safetensors, optimizer state read back with ``weights_only=True``) and a rerun resumes from
the last one; the manifest ``skim_distill.json``, written last, marks a finished model.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from skim._io import apply_umask, file_fingerprint, write_json_atomic
from skim._log import progress_enabled
from skim.distill.demos import Demonstration, load_demonstrations, pairs_to_demonstrations
from skim.distill.format import FORMAT_VERSION
from skim.distill.model import (
    MANIFEST,
    default_device,
    load_base,
    read_manifest,
    scratch_model,
    train_tokenizer,
)
from skim.distill.params import DistillParams
from skim.errors import SkimError

CHECKPOINT = "checkpoint"


def distill(
    demos: str | os.PathLike | list[Demonstration],
    out_dir: str | os.PathLike,
    base: str | None = None,
    from_scratch: bool = False,
    params: DistillParams | None = None,
    *,
    extra_pairs: Iterable[tuple[str, str | None, list[str]]] | None = None,
    **settings: Any,
) -> Path:
    """Teach a small causal LM to write synthetic texts from an item and its metadata.

    Parameters
    ----------
    demos
        Demonstrations file (``skim teach`` output) or already loaded demonstrations.
    out_dir
        Where the model goes: a LoRA adapter (plus tokenizer) for ``base``, or a complete
        model and tokenizer with ``from_scratch``; ``skim_distill.json`` records the settings.
    base, from_scratch
        A pretrained causal LM to fine-tune with LoRA, or train a tiny one from scratch
        (or give them in ``params``).
    params, **settings
        A :class:`~skim.distill.params.DistillParams`, and any of its fields as keywords
        (``lora_r``, ``epochs``, ``max_steps``, ``seed``, ``no_metadata``, ``precision``, ...),
        which override it.
    extra_pairs
        More ``(text, metadata, targets)`` demonstrations, e.g. the observed train pairs, which
        show the output format; they take the direction of the first demonstration.

    Returns
    -------
    Path
        ``out_dir``. A finished ``out_dir`` with the same inputs and settings is returned as is.
    """
    given = {"base": base} if base is not None else {}
    p = DistillParams.build(
        params, "distill", **given, **({"from_scratch": True} if from_scratch else {}), **settings
    )
    if p.from_scratch == bool(p.base):
        raise SkimError("give either a base model (--base NAME_OR_PATH) or --from-scratch")
    out_dir = Path(out_dir)
    demo_list = load_demonstrations(demos) if not isinstance(demos, list) else list(demos)
    if not demo_list:
        raise SkimError("no demonstrations to distill from")
    extra = pairs_to_demonstrations(extra_pairs or [], demo_list[0].direction)
    device = p.device or default_device()
    stamp = _settings(p, device)
    fingerprint = _demos_fingerprint(demos, demo_list, extra)
    done = read_manifest(out_dir)
    if done and done.get("settings") == stamp and done.get("demos_fingerprint") == fingerprint:
        return out_dir
    examples = demo_list + extra
    prompts = [d.prompt(p.no_metadata, p.max_metadata_words) for d in examples]
    completions = [d.completion() for d in examples]
    ckpt = _latest_checkpoint(out_dir)
    if ckpt is not None and _read_json(ckpt / "state.json").get("settings") != stamp:
        ckpt = None  # a checkpoint of other settings cannot be resumed
    model, tokenizer = _student(p, stamp, device, ckpt, prompts, completions)
    rows = _tokenize(tokenizer, prompts, completions, p.max_length)
    started = time.time()
    trained = _fit(model, tokenizer, rows, p, stamp, device, ckpt, out_dir)
    model.eval()
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    manifest = {
        "settings": stamp,
        **{key: stamp[key] for key in ("kind", "base", "no_metadata", "max_metadata_words")},
        "demos_fingerprint": fingerprint,
        "n_demonstrations": len(demo_list),
        "n_extra_pairs": len(extra),
        "directions": sorted({d.direction for d in examples}),
        **trained,
        "train_seconds": round(time.time() - started, 2),
    }
    write_json_atomic(out_dir / MANIFEST, manifest)
    shutil.rmtree(out_dir / CHECKPOINT, ignore_errors=True)
    shutil.rmtree(out_dir / f"{CHECKPOINT}.old", ignore_errors=True)
    apply_umask(out_dir)  # safetensors writes its weights 0600 whatever the umask
    return out_dir


def _settings(p: DistillParams, device: str) -> dict[str, Any]:
    """What the model depends on, with the defaults resolved: the manifest's and checkpoint's
    ``settings``, compared to decide whether a finished model or a checkpoint can be reused."""
    scratch = p.from_scratch
    return {
        "format_version": FORMAT_VERSION,
        "kind": "scratch" if scratch else "lora",
        "base": None if scratch else str(p.base),
        "no_metadata": bool(p.no_metadata),
        "max_metadata_words": p.max_metadata_words,
        "lora_r": None if scratch else p.lora_r,
        "lora_alpha": None if scratch else (p.lora_alpha or 2 * p.lora_r),
        "epochs": p.epochs,
        "max_steps": p.max_steps,
        "seed": p.seed,
        "batch_size": p.batch_size,
        "learning_rate": p.learning_rate or (1e-3 if scratch else 2e-4),
        "max_length": p.max_length,
        "precision": resolve_precision(p.precision, device, scratch),
        "scratch": {
            "hidden_size": p.hidden_size,
            "num_layers": p.num_layers,
            "vocab_size": p.vocab_size,
        }
        if scratch
        else None,
    }


def _student(p: DistillParams, stamp: dict, device: str, ckpt, prompts, completions):
    """The model to train and its tokenizer: a tiny Llama, or a pretrained LM with LoRA."""
    import torch

    if p.from_scratch:
        if ckpt is not None:
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(ckpt / "tokenizer")
        else:
            tokenizer = train_tokenizer(
                [a + b for a, b in zip(prompts, completions, strict=True)], p.vocab_size
            )
        model = scratch_model(tokenizer, p.hidden_size, p.num_layers, p.max_length, p.seed)
        return model.to(device), tokenizer
    # bf16: the frozen base in bfloat16 (no per-step casts of its weights), adapters float32
    dtype = torch.bfloat16 if stamp["precision"] == "bf16" else torch.float32
    model, tokenizer = load_base(str(p.base), device=device, dtype=dtype)
    model = _add_lora(model, p.lora_r, stamp["lora_alpha"], p.target_modules, p.seed)
    return model, tokenizer


def _fit(model, tokenizer, rows, p: DistillParams, stamp, device, ckpt, out_dir) -> dict:
    """The training loop, from the checkpoint ``ckpt`` when given; checkpoints as it goes.

    Returns the manifest's steps, losses and trainable parameter count.
    """
    import torch

    steps_per_epoch = math.ceil(len(rows) / p.batch_size)
    total = p.max_steps if p.max_steps is not None else math.ceil(p.epochs * steps_per_epoch)
    params = [w for w in model.parameters() if w.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=stamp["learning_rate"], weight_decay=0.0)
    step, losses = 0, []
    if ckpt is not None:
        step, losses = _load_checkpoint(ckpt, model, optimizer)
    started_step = step
    model.train()
    bar = _progress(total, step, p.show_progress)
    while step < total:
        epoch, offset = divmod(step, steps_per_epoch)
        if offset == 0 or step == started_step:
            lengths = [len(r[0]) for r in rows]
            batches = length_bucketed_batches(lengths, p.batch_size, p.seed + epoch)
        batch = [rows[i] for i in batches[offset]]
        ids, mask, labels = _collate(batch, tokenizer.pad_token_id, device)
        for group in optimizer.param_groups:
            group["lr"] = _lr(stamp["learning_rate"], step, total)
        with _autocast(stamp["precision"], device):
            loss = completion_loss(model, ids, mask, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        losses.append(float(loss.detach()))
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
        if step % p.checkpoint_every == 0 and step < total:
            _save_checkpoint(out_dir, model, optimizer, tokenizer, step, losses, stamp)
    bar.close()
    return {
        "steps": step,
        "final_loss": float(np.mean(losses[-20:])) if losses else None,
        "first_loss": losses[0] if losses else None,
        "trainable_parameters": sum(w.numel() for w in params),
    }


def resolve_precision(precision: str, device: str, from_scratch: bool = False) -> str:
    """``bf16`` or ``fp32``: what ``auto`` means on ``device`` (bf16 only where it is fast)."""
    if precision not in ("auto", "bf16", "fp32"):
        raise SkimError(f"precision must be auto, bf16 or fp32, got {precision!r}")
    if precision != "auto":
        return precision
    return "bf16" if not from_scratch and fast_bf16(device) else "fp32"


def fast_bf16(device: str) -> bool:
    """Whether ``device`` multiplies bfloat16 matrices in hardware (AMX CPU, bf16 GPU)."""
    import torch

    if str(device).startswith("cuda"):
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    amx = getattr(torch.cpu, "_is_amx_tile_supported", None)  # private; absent in some builds
    return str(device) == "cpu" and amx is not None and bool(amx())


def _autocast(precision: str, device: str):
    import contextlib

    import torch

    if precision != "bf16":
        return contextlib.nullcontext()
    return torch.autocast(str(device).split(":")[0], dtype=torch.bfloat16)


def completion_loss(model, ids, mask, labels):
    """Mean next-token cross-entropy over the completion tokens (labels not -100).

    The same value as ``model(..., labels=labels).loss``, but the LM head (for Gemma a
    262K x 640 matrix, most of a small model's cost) runs only at the positions that predict a
    completion token, not over every prompt and padding position.
    """
    import torch

    lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    hidden = lm.get_decoder()(input_ids=ids, attention_mask=mask).last_hidden_state
    targets = labels[:, 1:]
    keep = targets != -100
    logits = lm.get_output_embeddings()(hidden[:, :-1][keep])
    cap = getattr(lm.config, "final_logit_softcapping", None)
    if cap:
        logits = torch.tanh(logits / cap) * cap
    return torch.nn.functional.cross_entropy(logits.float(), targets[keep])


def length_bucketed_batches(lengths: list[int], batch_size: int, seed: int) -> list[list[int]]:
    """One epoch's batches: shuffled, then sorted by length within pools of 32 batches.

    Rows of a batch have similar lengths, so little compute goes to padding; the batches are
    shuffled again so an epoch does not run from short to long.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    pool = batch_size * 32
    batches: list[list[int]] = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool].tolist(), key=lambda i: lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def _demos_fingerprint(source, demos: list[Demonstration], extra: list[Demonstration]) -> str:
    import hashlib

    digest = hashlib.sha256()
    if not isinstance(source, list):
        digest.update(file_fingerprint(source).encode())
    else:
        digest.update(json.dumps([d.__dict__ for d in demos], sort_keys=True).encode())
    digest.update(json.dumps([d.__dict__ for d in extra], sort_keys=True).encode())
    return digest.hexdigest()


def _add_lora(model, r: int, alpha: int, target_modules, seed: int):
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    config = LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=0.05,
        task_type="CAUSAL_LM",
        target_modules=target_modules,
    )
    try:
        return get_peft_model(model, config)
    except ValueError:
        if target_modules is not None:
            raise
        config.target_modules = "all-linear"  # an architecture peft has no default for
        return get_peft_model(model, config)


def _tokenize(tokenizer, prompts: list[str], completions: list[str], max_length: int):
    """Token ids and labels per example; labels mask the prompt (-100) so loss is on the output."""
    eos = tokenizer.eos_token_id
    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    p_ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    c_ids = tokenizer(completions, add_special_tokens=False)["input_ids"]
    rows = []
    for p, c in zip(p_ids, c_ids, strict=True):
        c = list(c)[: max_length // 2] + [eos]
        p = (bos + list(p))[-(max_length - len(c)) :]
        rows.append((p + c, [-100] * len(p) + c))
    return rows


def _collate(batch, pad_id: int, device: str):
    import torch

    width = max(len(ids) for ids, _ in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, (x, y) in enumerate(batch):
        ids[row, : len(x)] = torch.tensor(x)
        labels[row, : len(y)] = torch.tensor(y)
        mask[row, : len(x)] = 1
    return ids.to(device), mask.to(device), labels.to(device)


def _lr(peak: float, step: int, total: int) -> float:
    """Linear warm-up over the first 5% of steps, then linear decay to 10% of the peak."""
    warm = max(1, total // 20)
    if step < warm:
        return peak * (step + 1) / warm
    return peak * max(0.1, 1 - (step - warm) / max(1, total - warm))


def _progress(total: int, done: int, enabled: bool):
    from tqdm.auto import tqdm

    shown = progress_enabled(enabled)
    return tqdm(total=total, initial=done, desc="distill", unit="step", disable=not shown)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _latest_checkpoint(out_dir: Path) -> Path | None:
    for name in (CHECKPOINT, f"{CHECKPOINT}.old"):
        if (out_dir / name / "state.json").is_file():
            return out_dir / name
    return None


def _save_checkpoint(out_dir: Path, model, optimizer, tokenizer, step, losses, settings) -> None:
    """Write the checkpoint beside the old one, then swap: a crash leaves one intact."""
    import torch
    from safetensors.torch import save_file

    tmp = out_dir / f"{CHECKPOINT}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    trainable = {
        n: p.detach().cpu().clone() for n, p in model.named_parameters() if p.requires_grad
    }
    save_file(trainable, str(tmp / "trainable.safetensors"))
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    tokenizer.save_pretrained(tmp / "tokenizer")
    state = {"step": step, "losses": losses, "settings": settings}
    (tmp / "state.json").write_text(json.dumps(state), encoding="utf-8")
    current, old = out_dir / CHECKPOINT, out_dir / f"{CHECKPOINT}.old"
    shutil.rmtree(old, ignore_errors=True)
    if current.exists():
        current.rename(old)
    tmp.rename(current)
    shutil.rmtree(old, ignore_errors=True)


def _load_checkpoint(ckpt: Path, model, optimizer) -> tuple[int, list[float]]:
    import torch
    from safetensors.torch import load_file

    weights = load_file(str(ckpt / "trainable.safetensors"))
    own = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in weights.items():
            own[name].copy_(value.to(own[name].device))
    optimizer.load_state_dict(torch.load(ckpt / "optimizer.pt", weights_only=True))
    state = _read_json(ckpt / "state.json")
    return int(state["step"]), list(state.get("losses", []))
