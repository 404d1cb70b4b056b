"""``train``: fit a learner on a dataset's training labels and save it."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import scipy.sparse as sp

from skim._floats import flush_denormals
from skim._io import check_output
from skim.data import Dataset, as_dataset, canonical, load_matrix
from skim.devices import resolve_device
from skim.encode import TextEncoder, resolve_encoder
from skim.errors import SkimError
from skim.learners.features import (
    EncoderInputs,
    FrozenInputs,
    embed,
    encoder_name,
    query_texts,
)
from skim.learners.methods import MethodContext, build_training_set
from skim.learners.params import TrainParams
from skim.learners.registry import LEARNERS
from skim.modelfolder import MODEL_FILES, save_model
from skim.registry import load


def resolve_labels(dataset: Dataset, labels) -> tuple[sp.csr_matrix, str]:
    """The training labels (default ``trn_X_Y``) as a checked CSR, and where they came from."""
    if labels is None:
        return dataset.trn_X_Y, "trn_X_Y"
    if isinstance(labels, str | os.PathLike):
        source = str(labels)
        matrix = load_matrix(labels)
    else:
        source = "labels matrix"
        matrix = canonical(labels)
    expected = (dataset.n_trn, dataset.n_labels)
    if matrix.shape != expected:
        raise SkimError(
            f"{source}: shape {matrix.shape[0]} x {matrix.shape[1]} does not match the dataset's "
            f"{expected[0]} train queries x {expected[1]} labels"
        )
    return matrix, source


@flush_denormals()
def train(
    dataset: Dataset | str | os.PathLike,
    model_dir: str | os.PathLike,
    learner: str | None = None,
    labels: sp.spmatrix | str | os.PathLike | None = None,
    params: TrainParams | None = None,
    **settings: Any,
) -> Path:
    """Train a learner and save it to ``model_dir``.

    Parameters
    ----------
    dataset
        A :class:`~skim.data.Dataset` or its directory.
    model_dir
        Output folder: ``model.safetensors`` + ``skim_model.json`` (+ ``encoder/`` when
        fine-tuned).
    learner
        ``"ova"`` or ``"dual"`` (default: ``params.learner``, else ``"ova"``).
    labels
        ``N_trn x L`` training labels, as a matrix or a path (e.g. ``trn_X_Y_skim.npz``);
        None uses the dataset's observed ``trn_X_Y``.
    params, **settings
        A :class:`~skim.learners.params.TrainParams`, and any of its fields as keywords
        (``method``, ``with_metadata``, ``epochs``, ``batch_size``, ``lr``, ``seed``,
        ``encoder``, ``cache_dir``, ``finetune_encoder``, ``device``, ``show_progress``,
        ``bottleneck``, ``temperature``, ...), which override it. The same seed and data give
        the same model.

    Subnormal floats are flushed to zero while it runs (see :func:`skim._floats.flush_denormals`:
    a one-vs-all fit is about 3x faster on CPU).

    Returns
    -------
    Path
        ``model_dir``.
    """
    import torch

    if learner is not None:
        settings["learner"] = learner
    params = TrainParams.build(params, "train", **settings)
    check_output(model_dir, folder=True, keep=MODEL_FILES)  # before training, not after it
    dataset = as_dataset(dataset)
    matrix, source = resolve_labels(dataset, labels)
    device = resolve_device(params.device)
    torch.manual_seed(params.seed)
    started = time.perf_counter()
    enc = resolve_encoder(params.encoder, show_progress=params.show_progress, device=device)
    if params.finetune_encoder and not hasattr(enc, "model"):
        raise SkimError("--finetune-encoder needs a sentence-transformers encoder")
    ctx = MethodContext(
        dataset=dataset,
        labels=matrix,
        params=params,
        query_texts=query_texts(dataset, "trn", params.with_metadata),
        label_texts=list(dataset.label_texts),
        embed=lambda texts: embed(enc, texts, params.cache_dir, params.ray),
        device=device,
        show_progress=params.show_progress,
    )
    training = build_training_set(ctx)
    timer = (started, time.perf_counter(), time.process_time())
    net, history, dim = _fit(enc, ctx, training)
    config = _model_config(params, enc, dim, dataset, source, training.info, history, timer)
    write_encoder = None
    if params.finetune_encoder:

        def write_encoder(folder: Path) -> None:
            enc.model.save(str(folder), safe_serialization=True)

    return save_model(Path(model_dir), config, dict(net.state_dict()), write_encoder)


def _model_config(
    params: TrainParams,
    enc: TextEncoder,
    dim: int,
    dataset: Dataset,
    source: str,
    info: dict[str, Any],
    history: list[float],
    timer: tuple[float, float, float],
) -> dict[str, Any]:
    """``skim_model.json``: the settings, the encoder, the shapes and how training went;
    ``timer`` is (start, fit start, fit start's CPU time)."""
    started, fit_started, fit_cpu = timer
    finished, finished_cpu = time.perf_counter(), time.process_time()
    return {
        "learner": params.learner,
        "params": params.to_dict(),
        "encoder": encoder_name(enc),
        "encoder_id": enc.id,
        "finetuned": params.finetune_encoder,
        "dim": int(dim),
        "n_labels": dataset.n_labels,
        "labels": source,
        "training": {
            **info,
            "loss": [round(v, 6) for v in history],
            "fit_seconds": round(finished - fit_started, 2),
            "fit_cpu_seconds": round(finished_cpu - fit_cpu, 2),
            "total_seconds": round(finished - started, 2),
        },
    }


def _fit(enc: TextEncoder, ctx: MethodContext, training: Any) -> tuple[Any, list[float], int]:
    """Fit the learner of ``ctx.params`` on ``training``: the net, its loss history and the
    width of its inputs (cached frozen embeddings, or the encoder itself when fine-tuned)."""
    params, device = ctx.params, ctx.device
    if params.finetune_encoder:
        enc.model.to(device).train()
        inputs = EncoderInputs(enc.model, training.texts, device)
        label_inputs = EncoderInputs(enc.model, ctx.label_texts, device)
    else:
        inputs = FrozenInputs(ctx.embed(training.texts))
        label_inputs = FrozenInputs(ctx.embed(ctx.label_texts))
    fit = load(LEARNERS.lookup(params.learner).fit)
    net, history = fit(inputs, label_inputs, training, params, device, ctx.show_progress)
    return net, history, inputs.dim


__all__ = ["resolve_labels", "train"]
