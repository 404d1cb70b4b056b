"""Training settings of the learners, validated once and stored in ``skim_model.json``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from skim.errors import SkimError
from skim.learners.registry import LEARNERS, METHODS


@dataclass
class TrainParams:
    """Every setting that changes a trained model.

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

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainParams:
        """Settings from a stored dict; unknown keys (from a newer version) are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})
