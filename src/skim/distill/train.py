"""Supervised fine-tuning of the student on demonstrations, loss on the completion only.

Both kinds of student go through transformers' ``Trainer``: LoRA (peft) on a pretrained causal
LM, or a tiny Llama trained from scratch with its own tokenizer. Trainer brings bf16 mixed
precision, gradient accumulation and checkpointing, checkpoints and resume, and several GPUs
through accelerate (``accelerate launch -m skim distill ...``). skim adds the completion-only
loss (the LM head runs only where a completion token is predicted), its progress bar, and a mark
in each checkpoint that Trainer finished writing (``checkpoint/checkpoint-N``): a rerun resumes
the newest marked one made with the same settings. The manifest ``skim_distill.json``, written
last, marks a finished model.

``Trainer`` rather than TRL's ``SFTTrainer``: SFTTrainer's completion-only loss, peft and
packing sit on top of this same Trainer but need the ``datasets`` package (pyarrow) for the
data, and its loss runs the LM head over every position; the examples here are already tokenized
with their prompt masked, so Trainer with a ``compute_loss`` of ten lines does the job.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from skim._io import apply_umask, file_fingerprint, write_json_atomic
from skim._log import progress_enabled
from skim.devices import resolve_device
from skim.distill.demos import Demonstration, load_demonstrations, pairs_to_demonstrations
from skim.distill.format import FORMAT_VERSION
from skim.distill.model import (
    MANIFEST,
    load_base,
    read_manifest,
    scratch_model,
    train_tokenizer,
)
from skim.distill.params import PRECISIONS, DistillParams
from skim.errors import SkimError

CHECKPOINT = "checkpoint"
CHECKPOINT_MARK = "skim_checkpoint.json"


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
    device = resolve_device(p.device)
    stamp = _settings(p, device)
    fingerprint = _demos_fingerprint(demos, demo_list, extra)
    done = read_manifest(out_dir)
    if done and done.get("settings") == stamp and done.get("demos_fingerprint") == fingerprint:
        return out_dir
    examples = demo_list + extra
    prompts = [d.prompt(p.no_metadata, p.max_metadata_words) for d in examples]
    completions = [d.completion() for d in examples]
    ckpt = _latest_checkpoint(out_dir, stamp)  # None: start over (other settings, none yet)
    model, tokenizer = _student(p, stamp, device, ckpt, prompts, completions)
    rows = _tokenize(tokenizer, prompts, completions, p.max_length)
    started = time.time()
    trained = _fit(model, tokenizer, rows, p, stamp, device, ckpt, out_dir)
    if not trained.pop("main_process"):
        return out_dir  # under accelerate launch, one process writes the model
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
        "target_modules": None if scratch else p.target_modules,
        "epochs": p.epochs,
        "max_steps": p.max_steps,
        "seed": p.seed,
        "batch_size": p.batch_size,
        "gradient_accumulation": p.gradient_accumulation,
        "schedule": "cosine-warmup0.05-min0.1",
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

            tokenizer = AutoTokenizer.from_pretrained(ckpt)  # Trainer saved it there
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
    """Train with transformers' ``Trainer``, from the checkpoint ``ckpt`` when given.

    Returns the manifest's steps, losses and trainable parameter count, and whether this is
    the main process (the one that writes, when ``accelerate launch`` starts several).
    """
    from transformers import TrainingArguments
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    if ckpt is None:
        shutil.rmtree(out_dir / CHECKPOINT, ignore_errors=True)  # other settings, or old format
    _select_device(device)
    args = TrainingArguments(
        output_dir=str(out_dir / CHECKPOINT),
        per_device_train_batch_size=p.batch_size,
        gradient_accumulation_steps=p.gradient_accumulation,
        num_train_epochs=p.epochs,
        max_steps=p.max_steps if p.max_steps is not None else -1,
        learning_rate=stamp["learning_rate"],
        # 5% linear warm-up, then cosine (the authors' schedule) down to 10% of the peak
        lr_scheduler_type="cosine_with_min_lr",
        lr_scheduler_kwargs={"min_lr_rate": 0.1},
        warmup_steps=0.05,
        weight_decay=0.0,
        max_grad_norm=1.0,
        bf16=stamp["precision"] == "bf16",
        activation_checkpointing=p.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False},
        train_sampling_strategy="group_by_length",  # little compute spent on padding
        seed=p.seed,
        data_seed=p.seed,
        use_cpu=str(device) == "cpu",
        save_strategy="steps",
        save_steps=p.checkpoint_every,
        save_total_limit=2,  # the newest may be cut short by a crash; the one before is whole
        logging_steps=1,
        report_to="none",
        disable_tqdm=True,
        remove_unused_columns=False,
        dataloader_pin_memory=False,
    )
    trainer_class, callback = _trainer_classes()
    trainer = trainer_class(
        model=model,
        args=args,
        train_dataset=[{"input_ids": ids, "labels": labels} for ids, labels in rows],
        data_collator=lambda batch: _collate(batch, tokenizer.pad_token_id),
        processing_class=tokenizer,  # saved in each checkpoint: a from-scratch resume needs it
    )
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(callback(stamp, p.show_progress))
    trainer.train(resume_from_checkpoint=str(ckpt) if ckpt is not None else None)
    losses = [float(h["loss"]) for h in trainer.state.log_history if "loss" in h]
    return {
        "steps": trainer.state.global_step,
        "final_loss": float(np.mean(losses[-20:])) if losses else None,
        "first_loss": losses[0] if losses else None,
        "trainable_parameters": sum(w.numel() for w in model.parameters() if w.requires_grad),
        "main_process": trainer.is_world_process_zero(),
    }


@functools.cache
def _trainer_classes():
    """``Trainer`` with the completion-only loss, and skim's callback (classes made on first
    use: transformers is imported lazily)."""
    from transformers import Trainer, TrainerCallback

    class CompletionTrainer(Trainer):
        # the loss below is already divided by the completion tokens of the whole
        # (accumulated) step, so Trainer must not divide it again
        loss_is_scaled_for_ga = True

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.model_accepts_loss_kwargs = True  # Trainer counts the completion tokens

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            ids, mask, labels = inputs["input_ids"], inputs["attention_mask"], inputs["labels"]
            if self.accelerator.num_processes > 1 or self.args.n_gpu > 1:
                # a wrapped (DDP) model must run its own forward to sync its gradients
                out = model(
                    input_ids=ids,
                    attention_mask=mask,
                    labels=labels,
                    num_items_in_batch=num_items_in_batch,
                )
                return (out.loss, out) if return_outputs else out.loss
            with self.accelerator.autocast():  # the fast path skips the autocast forward
                total = completion_loss(model, ids, mask, labels, reduction="sum")
            count = num_items_in_batch
            if count is None:
                count = (labels[:, 1:] != -100).sum()
            loss = total / count
            return (loss, None) if return_outputs else loss

    class SkimCallback(TrainerCallback):
        """skim's progress bar (steps, recent loss), no checkpoint at the last step (the model
        is saved), and a mark in each whole checkpoint: a rerun resumes only a marked one."""

        def __init__(self, stamp: dict[str, Any], show_progress: bool) -> None:
            self.stamp = stamp
            self.show_progress = show_progress
            self.bar = None
            self.losses: list[float] = []

        def on_train_begin(self, args, state, control, **kwargs):
            show = self.show_progress and state.is_world_process_zero
            self.bar = _progress(state.max_steps, state.global_step, show)

        def on_step_end(self, args, state, control, **kwargs):
            self.bar.update(state.global_step - self.bar.n)
            if state.global_step >= state.max_steps:
                control.should_save = False
            return control

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                self.losses.append(float(logs["loss"]))
                self.bar.set_postfix(loss=f"{np.mean(self.losses[-20:]):.3f}")

        def on_save(self, args, state, control, **kwargs):
            if not state.is_world_process_zero:
                return
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            _mark_checkpoint(folder, state.global_step, self.stamp)

        def on_train_end(self, args, state, control, **kwargs):
            self.bar.close()

    return CompletionTrainer, SkimCallback


def _select_device(device: str) -> None:
    """Make ``cuda:N`` the current GPU, where Trainer (through accelerate) puts the model."""
    if str(device).startswith("cuda:"):
        import torch

        torch.cuda.set_device(int(str(device).split(":")[1]))


def resolve_precision(precision: str, device: str, from_scratch: bool = False) -> str:
    """``bf16`` or ``fp32``: what ``auto`` means on ``device`` (bf16 only where it is fast)."""
    if precision not in PRECISIONS:
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


def completion_loss(model, ids, mask, labels, reduction: str = "mean"):
    """Next-token cross-entropy over the completion tokens (labels not -100), mean or sum.

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
    return torch.nn.functional.cross_entropy(logits.float(), targets[keep], reduction=reduction)


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


def _collate(batch: list[dict[str, list[int]]], pad_id: int) -> dict[str, Any]:
    """Right-padded ``input_ids``, ``attention_mask`` and ``labels`` (-100 on padding)."""
    import torch

    width = max(len(row["input_ids"]) for row in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, row in enumerate(batch):
        n = len(row["input_ids"])
        ids[i, :n] = torch.tensor(row["input_ids"])
        labels[i, :n] = torch.tensor(row["labels"])
        mask[i, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def _progress(total: int, done: int, enabled: bool):
    from tqdm.auto import tqdm

    shown = progress_enabled(enabled)
    return tqdm(total=total, initial=done, desc="distill", unit="step", disable=not shown)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _latest_checkpoint(out_dir: Path, stamp: dict[str, Any]) -> Path | None:
    """The newest checkpoint skim marked whole, if it was made with the settings ``stamp``."""
    folder = out_dir / CHECKPOINT
    found = []
    for path in folder.glob("checkpoint-*") if folder.is_dir() else []:
        state = _read_json(path / CHECKPOINT_MARK)
        if state.get("settings") == stamp and state.get("step") == _step_of(path):
            found.append(path)
    return max(found, key=_step_of, default=None)


def _step_of(path: Path) -> int | None:
    suffix = path.name.rpartition("-")[2]
    return int(suffix) if suffix.isdigit() else None


def _mark_checkpoint(folder: Path, step: int, settings: dict[str, Any]) -> None:
    """Mark the checkpoint Trainer just wrote in ``folder`` as whole, with its settings."""
    write_json_atomic(folder / CHECKPOINT_MARK, {"step": step, "settings": settings})
