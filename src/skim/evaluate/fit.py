"""One fit / predict / score step, shared by ``skim run`` and the what-if curve.

It lives with the evaluation, below the pipeline, so the what-if curve uses it without
importing the pipeline above it (:func:`~skim.stage.run_stage` is in the low ``skim.stage``).

A model is trained on one labels file as the resumable stage ``train-SLUG`` (its folder
``models/SLUG``), predicts the test queries' top labels (as many as the largest cut-off) as
``predict-SLUG`` (``predictions/SLUG.npz``), and is scored on the test labels. Both stages
are skipped when their outputs exist and their inputs and settings are unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from skim.data import Dataset, load_matrix, save_matrix
from skim.evaluate.params import EvaluateParams
from skim.learners.params import TrainParams
from skim.modelfolder import MODEL_CONFIG
from skim.pairs import matrix_fingerprint
from skim.stage import STAMP_DIR, run_stage

Log = Callable[[str], None]


def train_settings(params: TrainParams) -> dict[str, Any]:
    """The stamp of ``train-SLUG``: every setting of the model, the encoder by name or id."""
    encoder = params.encoder
    named = encoder if encoder is None or isinstance(encoder, str) else getattr(encoder, "id", "")
    return {**params.to_dict(), "encoder": named}


def train_model(
    out: Path, dataset: Dataset, labels: Path, params: TrainParams, slug: str, log: Log
) -> Path:
    """Train ``params.learner`` on ``labels`` into ``out/models/SLUG`` (skipped when done)."""
    from skim.learners import train

    model_dir = out / "models" / slug
    run_stage(
        out,
        f"train-{slug}",
        lambda: train(dataset, model_dir, labels=labels, params=params),
        [model_dir / MODEL_CONFIG],
        [*_dataset_inputs(dataset), labels],
        train_settings(params),
        log,
    )
    return model_dir


def score_model(
    out: Path, dataset: Dataset, model_dir: Path, params: EvaluateParams, log: Log, **runtime: Any
) -> dict[str, dict[str, float]]:
    """Predict the test queries' top ``max(params.k)`` labels with ``model_dir`` into
    ``out/predictions/`` (skipped when done) and score them (:func:`score`); ``runtime``
    (encoder, cache_dir, device, show_progress) goes to :func:`skim.learners.predict`."""
    from skim.learners import predict

    pred_path = out / "predictions" / f"{model_dir.name}.npz"
    k = max(params.k)
    run_stage(
        out,
        f"predict-{model_dir.name}",
        lambda: save_matrix(pred_path, predict(dataset, model_dir, k=k, **runtime)),
        [pred_path],
        [*_dataset_inputs(dataset), model_dir],
        {"k": k},
        log,
    )
    return score(dataset, pred_path, params)


def score(
    dataset: Dataset, predictions: Path, params: EvaluateParams
) -> dict[str, dict[str, float]]:
    """The metrics of a predictions file on the test labels, at ``params.k``, with test rows
    without a true label kept or skipped as ``params.empty_rows`` says."""
    from skim.evaluate.scoring import evaluate_predictions

    scores = load_matrix(predictions, scores=True)
    return evaluate_predictions(dataset, scores, params.k, params.empty_rows)


def scored_predictions(run: Path, labels: Path, params: TrainParams, k: int) -> Path | None:
    """A finished run's top-``k`` predictions of a model of the same settings trained on
    labels of the same content as ``labels``, or None: what the what-if curve can reuse
    instead of a fit."""
    wanted = train_settings(params)
    content = None
    for stamp in sorted((run / STAMP_DIR).glob("train-*.json")):
        slug = stamp.stem.removeprefix("train-")
        model = run / "models" / slug / MODEL_CONFIG
        predictions = run / "predictions" / f"{slug}.npz"
        predicted = run / STAMP_DIR / f"predict-{slug}.json"
        if not (model.is_file() and predictions.is_file() and predicted.is_file()):
            continue
        if _read(stamp).get("settings") != wanted:
            continue
        if _read(predicted).get("settings") != {"k": k}:
            continue
        trained_on = Path(_read(model).get("labels", ""))
        if not trained_on.is_file():  # "trn_X_Y" or "labels matrix": not a file to compare
            continue
        content = content or matrix_fingerprint(load_matrix(labels))
        if matrix_fingerprint(load_matrix(trained_on)) == content:
            return predictions
    return None


def _read(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _dataset_inputs(dataset: Dataset) -> list[Path]:
    """The dataset's folder as a stage input (a dataset built in memory has none)."""
    return [Path(dataset.path)] if dataset.path else []
