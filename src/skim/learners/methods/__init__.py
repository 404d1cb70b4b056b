"""Ways to turn training labels into a :class:`~skim.learners.targets.TrainingSet`.

Each method is a hook between the labels and the learner: it may set per-pair positive
weights (``ips``), mix the labels with a teacher's scores (``lever``), add training points
(``gandalf``) or swap the labels (``oracle``). Learners never know which method ran.

=============  ==========================================================================
``none``       the labels as they are
``ips``        positives weighted by the inverse propensity 1/p of their label
``lever``      target = lambda * labels + (1 - lambda) * scores of a Siamese teacher
``lever+ips``  both: the labels' part of the target keeps its 1/p weight
``gandalf``    label texts become extra points whose targets are label co-occurrences
``oracle``     train on ``trn_X_Y_unbiased`` (the complete labels, simulation only)
=============  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from skim.data import Dataset, inverse_propensity
from skim.errors import SkimError
from skim.learners.params import TrainParams
from skim.learners.registry import METHODS
from skim.learners.targets import TrainingSet
from skim.registry import load


@dataclass
class MethodContext:
    """What a method may use.

    Attributes
    ----------
    dataset
        The dataset being trained on.
    labels
        ``N_trn x L`` training labels (observed, SKIM's, ...), float32 CSR.
    params
        The training settings (method parameters included).
    query_texts, label_texts
        The texts the learner will read (metadata already appended if asked).
    embed
        Frozen, normalised embeddings of texts with the run's encoder (cached).
    device, show_progress
        Where and how loudly to train an auxiliary model (LEVER's teacher).
    """

    dataset: Dataset
    labels: sp.csr_matrix
    params: TrainParams
    query_texts: list[str]
    label_texts: list[str]
    embed: Callable[[list[str]], np.ndarray]
    device: str = "cpu"
    show_progress: bool = True


def none_method(ctx: MethodContext) -> TrainingSet:
    """``none``: the labels as they are."""
    return TrainingSet(ctx.query_texts, ctx.labels)


def oracle_method(ctx: MethodContext) -> TrainingSet:
    """``oracle``: the complete labels of a simulated dataset."""
    complete = ctx.dataset.trn_X_Y_unbiased
    if complete is None:
        where = ctx.dataset.path or "the dataset"
        raise SkimError(f"method 'oracle' needs {where}/trn_X_Y_unbiased.npz, which is missing")
    return TrainingSet(ctx.query_texts, complete, info={"pairs": int(complete.nnz)})


def ips_method(ctx: MethodContext) -> TrainingSet:
    """``ips``: positives weighted by the inverse propensity of their label."""
    from skim.learners.methods.ips import ips_weights

    weights = inverse_propensity(ctx.labels, ctx.dataset.propensity_a, ctx.dataset.propensity_b)
    return TrainingSet(ctx.query_texts, ctx.labels, ips_weights(ctx.labels, weights))


def lever_method(ctx: MethodContext, ips: bool = False) -> TrainingSet:
    """``lever``: the labels mixed with a Siamese teacher's scores."""
    from skim.learners.methods.lever import lever_training_set

    return lever_training_set(ctx, ips=ips)


def lever_ips_method(ctx: MethodContext) -> TrainingSet:
    """``lever+ips``: lever, the labels' part of the target weighted by 1/p."""
    return lever_method(ctx, ips=True)


def build_training_set(ctx: MethodContext) -> TrainingSet:
    """Apply ``ctx.params.method``; record the method's name and counts in ``info``."""
    training = load(METHODS.lookup(ctx.params.method).build)(ctx)
    training.info = {
        "method": ctx.params.method,
        "points": len(training.texts),
        "pairs": int(training.targets.nnz),
        **training.info,
    }
    return training


__all__ = ["MethodContext", "build_training_set"]
