"""The folder of a trained learner model: ``model.safetensors`` (weights) and
``skim_model.json`` (settings).

A fine-tuned encoder is saved beside them in ``encoder/`` (sentence-transformers format,
safetensors weights). ``skim_model.json`` is written last, so its presence means the model
is complete. A model is written into a temporary folder beside its target and swapped in
whole, so a failed rewrite (a full disk) leaves the model already there intact. Nothing is
pickled.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skim._io import apply_umask, atomic_dir, write_json_atomic
from skim.errors import OutputError, SkimError

if TYPE_CHECKING:
    import torch

MODEL_CONFIG = "skim_model.json"  # written last: a folder holding it is a complete model
WEIGHTS = "model.safetensors"
ENCODER_DIR = "encoder"
FORMAT_VERSION = 1
MODEL_FILES = (WEIGHTS, MODEL_CONFIG, ENCODER_DIR)  # all a model folder may hold


def save_model(
    model_dir: str | os.PathLike,
    config: dict[str, Any],
    tensors: dict[str, torch.Tensor],
    write_encoder: Callable[[Path], None] | None = None,
) -> Path:
    """Write the weights (and ``write_encoder(folder)``'s encoder), then the JSON that marks
    the model complete, all in a temporary folder that then replaces ``model_dir``.

    An existing ``model_dir`` may hold only a model's files: it is replaced whole.
    """
    from safetensors import SafetensorError
    from safetensors.torch import save_file

    model_dir = Path(model_dir)
    with atomic_dir(model_dir, keep=MODEL_FILES) as tmp:
        if write_encoder is not None:
            write_encoder(tmp / ENCODER_DIR)
        try:
            save_file(
                {k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp / WEIGHTS)
            )
        except SafetensorError as exc:  # the Rust writer's I/O errors (a full disk) are not OSError
            raise OutputError(f"cannot write {model_dir}: {exc}") from None
        write_json_atomic(tmp / MODEL_CONFIG, {"format": FORMAT_VERSION, **config})
        apply_umask(tmp)  # safetensors writes 0600
    return model_dir


def read_config(model_dir: str | os.PathLike) -> dict[str, Any]:
    """The model's ``skim_model.json``; SkimError when the folder is not a complete model."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise SkimError(f"{model_dir}: model directory not found")
    path = model_dir / MODEL_CONFIG
    if not path.is_file():
        raise SkimError(f"{model_dir}: not a trained skim model (no {MODEL_CONFIG})")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SkimError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(config, dict) or not isinstance(config.get("learner"), str):
        raise SkimError(f"{path}: not a skim learner model (no 'learner')")
    return config


def load_model(model_dir: str | os.PathLike) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(config, weights) of a saved model."""
    from safetensors.torch import load_file

    config = read_config(model_dir)
    weights = Path(model_dir) / WEIGHTS
    if not weights.is_file():
        raise SkimError(f"{model_dir}: {WEIGHTS} is missing")
    try:
        return config, load_file(str(weights))
    except Exception as exc:  # safetensors raises its own error types
        raise SkimError(f"{weights}: cannot read weights ({exc})") from None
