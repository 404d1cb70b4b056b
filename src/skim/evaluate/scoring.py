"""Score a predictions matrix against a dataset's observed and unbiased test labels."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from skim.data import Dataset
from skim.evaluate.metrics import (
    DEFAULT_EMPTY_ROWS,
    check_inputs,
    compute_metrics,
    drop_pairs,
    rank_predictions,
)

DEFAULT_K = (1, 5, 10, 25, 100)


def evaluate_predictions(
    dataset: Dataset,
    predictions: sp.spmatrix | sp.sparray,
    k: Sequence[int] = DEFAULT_K,
    empty_rows: str = DEFAULT_EMPTY_ROWS,
) -> dict[str, dict[str, float]]:
    """Metrics on ``tst_X_Y`` ("observed") and, when present, ``tst_X_Y_unbiased`` ("unbiased").

    The test filter pairs are removed from the predictions; PSP weights come from the
    observed train labels and the dataset's propensity settings. ``empty_rows`` says what
    P/R/nDCG do with test rows that have no true label (see :mod:`skim.evaluate.metrics`).
    """
    weights = dataset.inv_propensity()
    ks = check_inputs(predictions, dataset.tst_X_Y, k, empty_rows)
    ranked = rank_predictions(predictions, ks[-1], dataset.tst_filter)  # shared by both
    splits = {"observed": dataset.tst_X_Y, "unbiased": dataset.tst_X_Y_unbiased}
    return {
        name: compute_metrics(predictions, truth, k, weights, ranked=ranked, empty_rows=empty_rows)
        for name, truth in splits.items()
        if truth is not None
    }


def empty_rows_note(dataset: Dataset, empty_rows: str = DEFAULT_EMPTY_ROWS) -> str:
    """One sentence: how many test rows have no true label, and what the metrics did with them."""
    splits = {"observed": dataset.tst_X_Y, "unbiased": dataset.tst_X_Y_unbiased}
    counts = ", ".join(
        f"{int((np.diff(sp.csr_matrix(truth > 0).indptr) == 0).sum()):,} of "
        f"{truth.shape[0]:,} ({name})"
        for name, truth in splits.items()
        if truth is not None
    )
    if empty_rows == "skip":
        done = "skipped: P@k, R@k and nDCG@k average the other rows (the SKIM authors' recall)"
    else:
        done = "kept: they count as 0 in P@k, R@k and nDCG@k (pyxclib's recall)"
    return f"Test rows without a true label: {counts}; empty_rows = {empty_rows}, {done}."


def filter_counts(dataset: Dataset, predictions: sp.spmatrix | sp.sparray) -> dict[str, int]:
    """What the test filter (``tst_filter_labels.txt``) does to ``predictions`` before they are
    ranked: ``filtered_pairs`` it holds, ``filtered_predictions`` it removes."""
    pairs = dataset.tst_filter
    pred = sp.csr_matrix(predictions)
    if not pred.has_canonical_format:
        pred = pred.copy()
        pred.sum_duplicates()
    return {
        "filtered_pairs": len(pairs),
        "filtered_predictions": pred.nnz - drop_pairs(pred, pairs).nnz,
    }


def filter_note(counts: dict[str, int]) -> str:
    """One sentence for :func:`filter_counts`."""
    if not counts["filtered_pairs"]:
        return "No test filter (tst_filter_labels.txt): every predicted pair is ranked."
    return (
        f"Test filter (tst_filter_labels.txt): {counts['filtered_pairs']:,} pairs; "
        f"{counts['filtered_predictions']:,} predicted pairs on them removed before ranking."
    )


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
