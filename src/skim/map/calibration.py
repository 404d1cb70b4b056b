"""Calibrated soft labels: a new pair's value = the precision estimated at its score.

On the rows whose complete labels are known, each new pair is right or wrong. Isotonic
regression (pool adjacent violators) of right/wrong on the mapping score gives a
non-decreasing precision curve; a pair's value is the curve at its score. A learner then
weighs a pair by how often pairs like it are right, instead of trusting a cosine near 0.9.
"""

from __future__ import annotations

import numpy as np


def isotonic_fit(scores: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pool adjacent violators: the non-decreasing step function closest to ``correct``.

    Parameters
    ----------
    scores
        Scores of the known pairs (any order).
    correct
        1 where the pair is true, 0 where it is not.

    Returns
    -------
    starts, values
        Ascending score at which each step begins and the step's precision (its pairs'
        mean). Ties in score share one step.
    """
    order = np.argsort(scores, kind="stable")
    xs = np.asarray(scores, np.float64)[order]
    ys = np.asarray(correct, np.float64)[order]
    uniq, first = np.unique(xs, return_index=True)  # equal scores form one point
    sums = np.add.reduceat(ys, first) if len(ys) else np.zeros(0)
    weights = np.diff(np.r_[first, len(ys)]).astype(np.float64)
    block_sum: list[float] = []
    block_weight: list[float] = []
    block_start: list[float] = []
    for x, s, w in zip(uniq, sums, weights, strict=True):
        block_sum.append(s)
        block_weight.append(w)
        block_start.append(x)
        while len(block_sum) > 1 and (
            block_sum[-2] / block_weight[-2] >= block_sum[-1] / block_weight[-1]
        ):  # a step not above the previous one merges into it
            s_last, w_last = block_sum.pop(), block_weight.pop()
            block_start.pop()
            block_sum[-1] += s_last
            block_weight[-1] += w_last
    values = np.asarray(block_sum) / np.maximum(np.asarray(block_weight), 1)
    return np.asarray(block_start, np.float64), values


def calibrated_values(scores: np.ndarray, starts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The step function of :func:`isotonic_fit` at ``scores`` (float32).

    A score falls in the last step starting at or below it; scores below the first step get
    the first step's value.
    """
    grid = np.asarray(starts, np.float32)  # compared as the float32 scores they came from
    step = np.searchsorted(grid, np.asarray(scores, np.float32), side="right") - 1
    return values[np.clip(step, 0, len(values) - 1)].astype(np.float32)
