"""Summary statistics of a dataset: sizes, label distribution, and how much is missing."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from skim.data.dataset import Dataset

TAIL_THRESHOLD = 5


def _distribution(counts: np.ndarray) -> dict[str, float]:
    if counts.size == 0:
        return {"mean": 0.0, "median": 0.0, "max": 0.0}
    return {
        "mean": float(counts.mean()),
        "median": float(np.median(counts)),
        "max": float(counts.max()),
    }


def _missing_share(observed: sp.csr_matrix, complete: sp.csr_matrix) -> float:
    """Share of the complete (true) pairs that the observed matrix lacks."""
    true = complete > 0
    n_true = true.nnz
    if n_true == 0:
        return 0.0
    found = true.multiply(observed > 0).nnz
    return float(1.0 - found / n_true)


def dataset_stats(dataset: Dataset) -> dict[str, Any]:
    """Sizes, labels per point, points per label, tail share and missing share.

    A tail label has fewer than ``TAIL_THRESHOLD`` train positives (observed labels).
    """
    trn = dataset.trn_X_Y
    per_label = np.diff(sp.csc_matrix(trn).indptr)
    stats: dict[str, Any] = {
        "train_points": dataset.n_trn,
        "test_points": dataset.n_tst,
        "labels": dataset.n_labels,
        "train_pairs": int(trn.nnz),
        "test_pairs": int(dataset.tst_X_Y.nnz),
        "labels_per_train_point": _distribution(np.diff(trn.indptr)),
        "train_points_per_label": _distribution(per_label),
        "tail_label_share": float((per_label < TAIL_THRESHOLD).mean()) if per_label.size else 0.0,
    }
    if dataset.trn_X_Y_unbiased is not None:
        stats["train_missing_share"] = _missing_share(trn, dataset.trn_X_Y_unbiased)
    if dataset.tst_X_Y_unbiased is not None:
        stats["test_missing_share"] = _missing_share(dataset.tst_X_Y, dataset.tst_X_Y_unbiased)
    return stats


def format_stats(stats: dict[str, Any]) -> str:
    """Human-readable lines for :func:`dataset_stats`."""
    lines = []
    for key, value in stats.items():
        label = key.replace("_", " ")
        if isinstance(value, dict):
            body = ", ".join(f"{k} {v:.2f}" for k, v in value.items())
            lines.append(f"{label}: {body}")
        elif key.endswith("share"):
            lines.append(f"{label}: {100 * value:.1f}%")
        else:
            lines.append(f"{label}: {value:,}")
    return "\n".join(lines)
