"""The settings of scoring predictions (:func:`skim.evaluate.evaluate_predictions`), once."""

from __future__ import annotations

from dataclasses import dataclass, field

from skim._params import StageParams
from skim.evaluate.scoring import DEFAULT_K


@dataclass
class EvaluateParams(StageParams):
    """Settings of the evaluate stage.

    Parameters
    ----------
    k
        Cut-offs of every metric (P, R, nDCG, PSP, coverage @k).
    """

    k: list[int] = field(default_factory=lambda: list(DEFAULT_K))
