"""Training settings of the learners, validated once and stored in ``skim_model.json``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from skim._params import StageParams, runtime
from skim.errors import SkimError
from skim.learners.registry import LEARNERS, METHODS

if TYPE_CHECKING:
    from skim.scale.cluster import RayOptions


@dataclass
class TrainParams(StageParams):
    """Every setting that changes a trained model, and how :func:`skim.learners.train` runs.

    Parameters
    ----------
    learner
        ``"ova"`` (one-vs-all label layer, Renée-like) or ``"dual"`` (dual encoder, DEXML-like).
    method
        How the training labels are turned into targets (see :mod:`skim.learners.methods`).
    epochs, batch_size, lr, seed
        Optimisation; ``lr`` None picks the learner's default (ova 3e-2, dual 1e-3).
    with_metadata
        Append each query's metadata to its text at train and test time.
    finetune_encoder
        Train the sentence-transformers encoder end to end instead of caching frozen embeddings.
    encoder_lr
        Learning rate of the encoder when fine-tuning.
    bottleneck
        ova: width of a linear layer between the embedding and the label layer (None: none).
    temperature
        dual: softmax temperature over cosine scores.
    hard_negatives
        dual: hard negatives mined per query at the start of every epoch (0: in-batch only).
    lever_lambda
        lever: weight of the observed labels in the mixed target (1 - it for the teacher).
    lever_topk
        lever: teacher labels kept per query.
    gandalf_threshold
        gandalf: co-occurrence probabilities below it are dropped.
    encoder
        Sentence-transformers name or path, or any :class:`~skim.encode.TextEncoder`;
        None for the bundled all-MiniLM-L6-v2 (recorded in ``skim_model.json`` by name).
    cache_dir, device, show_progress
        Embedding cache (default ``$SKIM_CACHE_DIR`` or ``~/.cache/skim``), torch device (None:
        CUDA when available) and progress bars.
    ray
        Encode the query and label texts the cache lacks on a Ray cluster's actor pool
        (:class:`skim.scale.cluster.RayOptions`); None: in this process. Same vectors, so a
        runtime field, out of :meth:`to_dict`.
    """

    learner: str = "ova"
    method: str = "none"
    epochs: int = 3
    batch_size: int = 512
    lr: float | None = None
    seed: int = 0
    with_metadata: bool = False
    finetune_encoder: bool = False
    encoder_lr: float = 2e-5
    bottleneck: int | None = None
    temperature: float = 0.05
    hard_negatives: int = 4
    lever_lambda: float = 0.5
    lever_topk: int = 10
    gandalf_threshold: float = 0.1
    encoder: Any = runtime()
    cache_dir: str | os.PathLike | None = runtime()
    device: str | None = runtime()
    show_progress: bool = runtime(True)
    ray: RayOptions | None = runtime()

    def __post_init__(self) -> None:
        learner = LEARNERS.lookup(self.learner)
        METHODS.lookup(self.method)
        if self.lr is None:
            self.lr = learner.lr
        checks = (
            ("epochs", self.epochs >= 1, "at least 1"),
            ("batch_size", self.batch_size >= 1, "at least 1"),
            ("lr", self.lr > 0, "positive"),
            ("encoder_lr", self.encoder_lr > 0, "positive"),
            ("bottleneck", self.bottleneck is None or self.bottleneck >= 1, "at least 1"),
            ("temperature", self.temperature > 0, "positive"),
            ("hard_negatives", self.hard_negatives >= 0, "0 or more"),
            ("lever_lambda", 0.0 <= self.lever_lambda <= 1.0, "in [0, 1]"),
            ("lever_topk", self.lever_topk >= 1, "at least 1"),
            ("gandalf_threshold", 0.0 <= self.gandalf_threshold <= 1.0, "in [0, 1]"),
        )
        for name, ok, what in checks:
            if not ok:
                raise SkimError(f"{name} must be {what}, got {getattr(self, name)!r}")

    @classmethod
    def build(cls, params: TrainParams | None, where: str, **overrides: Any) -> TrainParams:
        """Like :meth:`StageParams.build`; another learner gets its own default ``lr`` unless
        ``params`` set one of its own."""
        if params is not None and overrides.get("learner", params.learner) != params.learner:
            if "lr" not in overrides and params.lr == LEARNERS.lookup(params.learner).lr:
                overrides["lr"] = None
        return super().build(params, where, **overrides)
