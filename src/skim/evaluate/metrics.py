"""XC ranking metrics with pyxclib's definitions, vectorised over sparse matrices.

Every metric is computed from one pass that ranks the stored scores of each row, so the
cost is one sort of the prediction entries, whatever the number of ``k`` values.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from skim.errors import SkimError

METRIC_NAMES = ("P", "R", "nDCG", "PSP", "PSnDCG", "coverage")


def _ranked_entries(
    predictions: sp.csr_matrix, max_k: int, filter_pairs: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, col, rank) of the top-``max_k`` stored entries of each row, filters removed."""
    pred = sp.csr_matrix(predictions)
    n_rows, n_cols = pred.shape
    rows = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(pred.indptr))
    cols = pred.indices.astype(np.int64)
    scores = pred.data
    if filter_pairs is not None and len(filter_pairs):
        pairs = np.asarray(filter_pairs, dtype=np.int64).reshape(-1, 2)
        keep = ~np.isin(rows * n_cols + cols, pairs[:, 0] * n_cols + pairs[:, 1])
        rows, cols, scores = rows[keep], cols[keep], scores[keep]
    order = np.lexsort((-scores, rows))
    rows, cols = rows[order], cols[order]
    starts = np.searchsorted(rows, np.arange(n_rows), side="left")
    rank = np.arange(len(rows), dtype=np.int64) - starts[rows]
    keep = rank < max_k
    return rows[keep], cols[keep], rank[keep]


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(k, dtype=np.float64) + 2.0)


def _best_weights(
    truth: sp.csr_matrix, weights: np.ndarray, max_k: int
) -> tuple[np.ndarray, np.ndarray]:
    """(row, rank, weight) of the ``max_k`` largest label weights among each row's true labels."""
    rows = np.repeat(np.arange(truth.shape[0], dtype=np.int64), np.diff(truth.indptr))
    w = weights[truth.indices]
    order = np.lexsort((-w, rows))
    rows, w = rows[order], w[order]
    starts = np.searchsorted(rows, np.arange(truth.shape[0]), side="left")
    rank = np.arange(len(rows), dtype=np.int64) - starts[rows]
    keep = rank < max_k
    return rank[keep], w[keep]


def compute_metrics(
    predictions: sp.spmatrix | sp.sparray,
    truth: sp.spmatrix | sp.sparray,
    k: Sequence[int] = (1, 5, 10),
    inv_propensity: np.ndarray | None = None,
    filter_pairs: np.ndarray | None = None,
) -> dict[str, float]:
    """P@k, R@k, nDCG@k, coverage@k and, given label weights, PSP@k and PSnDCG@k.

    Parameters
    ----------
    predictions
        ``N x L`` scores; the stored entries of a row are its ranked candidates (ties in any
        order). Entries listed in ``filter_pairs`` are removed before ranking.
    truth
        ``N x L`` true labels; any stored value > 0 is relevant. Rows without labels stay
        in every mean and score 0.
    k
        Cut-offs.
    inv_propensity
        Inverse propensity weight of each label (see :func:`skim.data.inverse_propensity`);
        PSP@k and PSnDCG@k are left out when it is None.
    filter_pairs
        ``(n, 2)`` array of (row, col) pairs excluded from predictions.

    Returns
    -------
    dict
        Keys ``"P@k"``, ``"R@k"``, ``"nDCG@k"``, ``"coverage@k"`` (labels that appear in some
        top-k, over all labels), ``"PSP@k"``, ``"PSnDCG@k"``; values are fractions in [0, 1].
    """
    ks = sorted({int(v) for v in k})
    if not ks or ks[0] < 1:
        raise SkimError(f"k must be positive integers, got {list(k)}")
    if predictions.shape != truth.shape:
        raise SkimError(
            f"predictions are {predictions.shape[0]} x {predictions.shape[1]} but the true "
            f"labels are {truth.shape[0]} x {truth.shape[1]}"
        )
    truth = sp.csr_matrix(truth, copy=True)
    truth.data = (truth.data > 0).astype(np.float64)
    truth.eliminate_zeros()
    truth.sort_indices()
    n_rows, n_cols = truth.shape
    max_k = ks[-1]

    rows, cols, rank = _ranked_entries(predictions, max_k, filter_pairs)
    truth_keys = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(truth.indptr)) * n_cols
    truth_keys += truth.indices
    keys = rows * n_cols + cols
    pos = np.searchsorted(truth_keys, keys)
    pos[pos == len(truth_keys)] = 0
    hit = (truth_keys[pos] == keys) if len(truth_keys) else np.zeros(len(keys), dtype=bool)

    n_true = np.diff(truth.indptr).astype(np.float64)
    discount = _discounts(max_k)
    ideal = np.concatenate([[0.0], np.cumsum(discount)])
    gain = np.where(hit, discount[rank], 0.0)
    if inv_propensity is not None:
        weights = np.asarray(inv_propensity, dtype=np.float64)
        if weights.shape != (n_cols,):
            raise SkimError(f"inv_propensity has {weights.shape} entries, expected {n_cols}")
        best_rank, best_w = _best_weights(truth, weights, max_k)

    out: dict[str, float] = {}
    n = max(n_rows, 1)
    for kk in ks:
        top = rank < kk
        hits = np.bincount(rows[top & hit], minlength=n_rows).astype(np.float64)
        dcg = np.bincount(rows[top], weights=gain[top], minlength=n_rows)
        idcg = ideal[np.minimum(kk, n_true).astype(np.int64)]
        out[f"P@{kk}"] = float(hits.sum() / kk / n)
        out[f"R@{kk}"] = float((hits / np.maximum(n_true, 1.0)).sum() / n)
        out[f"nDCG@{kk}"] = float(
            np.divide(dcg, idcg, out=np.zeros_like(dcg), where=idcg > 0).sum() / n
        )
        if inv_propensity is not None:
            w_hit = weights[cols[top & hit]]
            best = best_rank < kk
            den_p = best_w[best].sum()
            den_n = (best_w[best] * discount[best_rank[best]]).sum()
            num_n = (w_hit * discount[rank[top & hit]]).sum()
            out[f"PSP@{kk}"] = float(w_hit.sum() / den_p) if den_p > 0 else 0.0
            out[f"PSnDCG@{kk}"] = float(num_n / den_n) if den_n > 0 else 0.0
        out[f"coverage@{kk}"] = float(np.unique(cols[top]).size / max(n_cols, 1))
    return {name: out[name] for name in _ordered_keys(ks, inv_propensity is not None)}


def _ordered_keys(ks: list[int], with_ps: bool) -> list[str]:
    names = [m for m in METRIC_NAMES if with_ps or not m.startswith("PS")]
    return [f"{m}@{kk}" for m in names for kk in ks]
