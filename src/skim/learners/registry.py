"""The learners and the baseline methods, by name.

A learner is registered with two functions: ``fit`` trains it on a
:class:`~skim.learners.targets.TrainingSet`, ``topk`` scores queries with the trained
weights; :func:`skim.learners.train` and :func:`skim.learners.predict` do everything else
(encoders, methods, the model folder), so a learner never sees which method made its targets.
A method is a hook between the labels and the learner (see :mod:`skim.learners.methods`).
``skim train``'s choices, :class:`~skim.learners.params.TrainParams`' check, the config's check
and the pipeline read these registries.

Adding a learner: write its module with the two functions below, then add one
``LEARNERS.register(...)`` line here. Adding a method: write its ``build(ctx) ->
TrainingSet``, then add one ``METHODS.register(...)`` line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from skim.registry import Registry

Fit = Callable[..., tuple[Any, list[float]]]
"""``fit(inputs, label_inputs, training, params, device, show_progress) -> (net, losses)``:
``inputs``/``label_inputs`` give the query and label rows (``.all()`` for every vector),
``net.state_dict()`` is what the model folder stores."""

TopK = Callable[..., tuple[np.ndarray, np.ndarray]]
"""``topk(config, tensors, params, queries, label_vectors, k, device) -> (scores, ids)``:
``tensors`` the stored weights, ``queries`` the query embeddings, ``label_vectors()`` the
label embeddings (computed only if called); scores in [0, 1], best first."""


@dataclass(frozen=True)
class LearnerEntry:
    """A registered learner: its two functions (or ``"module:function"``), defaults and help."""

    fit: Fit | str
    topk: TopK | str
    lr: float
    help: str


@dataclass(frozen=True)
class MethodEntry:
    """A registered method: ``build(ctx: MethodContext) -> TrainingSet`` and its help."""

    build: Callable[..., Any] | str
    help: str


LEARNERS: Registry[LearnerEntry] = Registry("learner")
METHODS: Registry[MethodEntry] = Registry("method")

LEARNERS.register(
    "ova",
    LearnerEntry(
        "skim.learners.ova:fit",
        "skim.learners.ova:topk",
        lr=3e-2,
        help="one-vs-all label layer over query embeddings (Renee-like)",
    ),
)
LEARNERS.register(
    "dual",
    LearnerEntry(
        "skim.learners.dual:fit_dual",
        "skim.learners.dual:topk",
        lr=1e-3,
        help="dual encoder, decoupled softmax with mined hard negatives (DEXML-like)",
    ),
)

_M = "skim.learners.methods"
METHODS.register("none", MethodEntry(f"{_M}:none_method", "the labels as they are"))
METHODS.register("ips", MethodEntry(f"{_M}:ips_method", "positives weighted by 1/propensity"))
METHODS.register("lever", MethodEntry(f"{_M}:lever_method", "labels mixed with a Siamese teacher"))
METHODS.register("lever+ips", MethodEntry(f"{_M}:lever_ips_method", "lever, labels weighted 1/p"))
METHODS.register(
    "gandalf", MethodEntry(f"{_M}.gandalf:gandalf_training_set", "label co-occurrence points")
)
METHODS.register("oracle", MethodEntry(f"{_M}:oracle_method", "the complete labels (simulation)"))
