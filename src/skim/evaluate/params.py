"""The settings of scoring predictions (:func:`skim.evaluate.evaluate_predictions`), once."""

from __future__ import annotations

from dataclasses import dataclass, field

from skim._params import StageParams
from skim.evaluate.metrics import DEFAULT_EMPTY_ROWS
from skim.evaluate.scoring import DEFAULT_K


@dataclass
class EvaluateParams(StageParams):
    """Settings of the evaluate stage.

    Parameters
    ----------
    k
        Cut-offs of every metric (P, R, nDCG, PSP, coverage @k).
    empty_rows
        ``"skip"`` leaves test rows without a true label out of P, R and nDCG; ``"keep"``
        counts them (see :mod:`skim.evaluate.metrics`).
    """

    k: list[int] = field(default_factory=lambda: list(DEFAULT_K))
    empty_rows: str = DEFAULT_EMPTY_ROWS
