"""Score a predictions matrix against a dataset's observed and unbiased test labels."""

from __future__ import annotations

from collections.abc import Sequence

import scipy.sparse as sp

from skim.data import Dataset
from skim.evaluate.metrics import check_inputs, compute_metrics, rank_predictions

DEFAULT_K = (1, 5, 10, 25, 100)


def evaluate_predictions(
    dataset: Dataset, predictions: sp.spmatrix | sp.sparray, k: Sequence[int] = DEFAULT_K
) -> dict[str, dict[str, float]]:
    """Metrics on ``tst_X_Y`` ("observed") and, when present, ``tst_X_Y_unbiased`` ("unbiased").

    The test filter pairs are removed from the predictions; PSP weights come from the
    observed train labels and the dataset's propensity settings.
    """
    weights = dataset.inv_propensity()
    ks = check_inputs(predictions, dataset.tst_X_Y, k)
    ranked = rank_predictions(predictions, ks[-1], dataset.tst_filter)  # shared by both
    results = {"observed": compute_metrics(predictions, dataset.tst_X_Y, k, weights, ranked=ranked)}
    if dataset.tst_X_Y_unbiased is not None:
        results["unbiased"] = compute_metrics(
            predictions, dataset.tst_X_Y_unbiased, k, weights, ranked=ranked
        )
    return results


def format_results(results: dict[str, dict[str, float]]) -> str:
    """A plain-text table: one row per metric, one column per label set, in percent."""
    columns = list(results)
    names = list(next(iter(results.values())))
    width = max(len(n) for n in names)
    lines = [" " * width + "".join(f"{c:>12}" for c in columns)]
    for name in names:
        cells = "".join(f"{100 * results[c][name]:>12.2f}" for c in columns)
        lines.append(f"{name:<{width}}{cells}")
    return "\n".join(lines)
