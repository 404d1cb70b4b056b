"""XC ranking metrics with pyxclib's definitions, vectorised over sparse matrices.

Every metric is computed from one pass that ranks the stored scores of each row, so the
cost is one sort of the prediction entries, whatever the number of ``k`` values. Any finite
score ranks (probabilities, logits, raw cosines); only the order within a row matters.

Rows with no true label (``empty_rows``): ``"keep"`` counts them as 0 in the per-row means of
P@k, R@k and nDCG@k, as pyxclib's ``precision``, ``recall`` and ``ndcg`` do; ``"skip"`` leaves
them out of those means, as pyxclib's ``recall_at_k`` and ``Metrics(remove_invalid=True)`` and
the SKIM authors' recall do. PSP@k and PSnDCG@k are ratios to which such a row adds 0 on both
sides, and coverage@k depends on the predictions alone, so neither setting changes them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from skim.errors import SkimError

METRIC_NAMES = ("P", "R", "nDCG", "PSP", "PSnDCG", "coverage")
EMPTY_ROWS = ("keep", "skip")
# "skip": the paper's R@k is the SKIM authors' recall (bicycleman15/skim, skim/step-2/
# gpu_anns.py `recall`, the same as pyxclib's `recall_at_k`), a mean over the test rows that
# have a true label. "keep" (pyxclib's `recall`) multiplies R@k by the share of rows with a
# label, so on a test set with many empty rows it would not compare with the paper's tables.
DEFAULT_EMPTY_ROWS = "skip"
_PAD_LIMIT = 1 << 20  # cells of the padded rows block always allowed (else 4 x the entries)


def drop_pairs(pred: sp.csr_matrix, pairs: np.ndarray | None) -> sp.csr_matrix:
    """``pred`` without the stored entries listed in ``pairs`` (the filter)."""
    if pairs is None or not len(pairs):
        return pred
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    n_cols = pred.shape[1]
    rows = np.repeat(np.arange(pred.shape[0], dtype=np.int64), np.diff(pred.indptr))
    drop = np.isin(rows * n_cols + pred.indices, pairs[:, 0] * n_cols + pairs[:, 1])
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows[~drop], minlength=pred.shape[0]))])
    return sp.csr_matrix((pred.data[~drop], pred.indices[~drop], indptr), shape=pred.shape)


def _entry_ranks(pred: sp.csr_matrix, max_k: int) -> np.ndarray:
    """Rank of every stored entry within its row (0 = highest score); ``max_k`` past the top-k."""
    n_rows = pred.shape[0]
    lengths = np.diff(pred.indptr)
    width = int(lengths.max()) if pred.nnz else 0
    rank = np.full(pred.nnz, max_k, dtype=np.int64)
    if width == 0:
        return rank
    if n_rows * width > max(4 * pred.nnz, _PAD_LIMIT):
        # a few very long rows: sort all entries by (row, -score) instead of padding
        rows = np.repeat(np.arange(n_rows, dtype=np.int64), lengths)
        order = np.lexsort((-pred.data, rows))
        within = np.arange(pred.nnz, dtype=np.int64) - pred.indptr[rows]
        rank[order] = np.minimum(within, max_k)
        return rank
    # rows side by side in a padded block: one row-wise sort, far faster than lexsort
    block = np.full((n_rows, width), np.inf, dtype=np.float32)
    if lengths.min() == width:
        block[:] = -pred.data.reshape(n_rows, width)
    else:
        rows = np.repeat(np.arange(n_rows, dtype=np.int64), lengths)
        block[rows, np.arange(pred.nnz) - pred.indptr[rows]] = -pred.data
    keep = min(max_k, width)
    if keep < width:
        top = np.argpartition(block, keep - 1, axis=1)[:, :keep]
        top = np.take_along_axis(top, np.argsort(np.take_along_axis(block, top, 1), 1), 1)
    else:
        top = np.argsort(block, axis=1)
    positions = np.arange(keep, dtype=np.int64)
    if keep == width == lengths.min():
        np.put_along_axis(rank.reshape(n_rows, width), top, positions[None, :], axis=1)
    elif lengths.min() >= keep:
        rank[(pred.indptr[:-1, None] + top).ravel()] = np.tile(positions, n_rows)
    else:
        valid = top < lengths[:, None]
        rank[(pred.indptr[:-1, None] + top)[valid]] = np.broadcast_to(positions, top.shape)[valid]
    return rank


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(k, dtype=np.float64) + 2.0)


def _best_weights(
    truth: sp.csr_matrix, weights: np.ndarray, max_k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, rank, weight) of the ``max_k`` largest label weights among each row's true labels."""
    rows = np.repeat(np.arange(truth.shape[0], dtype=np.int64), np.diff(truth.indptr))
    w = weights[truth.indices]
    order = np.lexsort((-w, rows))
    rows, w = rows[order], w[order]
    starts = np.searchsorted(rows, np.arange(truth.shape[0]), side="left")
    rank = np.arange(len(rows), dtype=np.int64) - starts[rows]
    keep = rank < max_k
    return rows[keep], rank[keep], w[keep]


def check_inputs(
    predictions, truth, k: Sequence[int], empty_rows: str = DEFAULT_EMPTY_ROWS
) -> list[int]:
    """The sorted distinct cut-offs, after checking them, ``empty_rows`` and the shapes."""
    if empty_rows not in EMPTY_ROWS:
        raise SkimError(f"empty_rows must be one of {', '.join(EMPTY_ROWS)}, got {empty_rows!r}")
    ks = sorted({int(v) for v in k})
    if not ks or ks[0] < 1:
        raise SkimError(f"k must be positive integers, got {list(k)}")
    if predictions.shape != truth.shape:
        raise SkimError(
            f"predictions are {predictions.shape[0]} x {predictions.shape[1]} but the true "
            f"labels are {truth.shape[0]} x {truth.shape[1]}"
        )
    return ks


def rank_predictions(
    predictions: sp.spmatrix | sp.sparray, max_k: int, filter_pairs: np.ndarray | None = None
) -> tuple[sp.csr_matrix, np.ndarray]:
    """The filtered predictions and each entry's rank in its row (ranks >= ``max_k`` are cut).

    This is the costly part of :func:`compute_metrics`; computing it once lets several label
    sets (observed and unbiased) be scored against the same ranking.
    """
    pred = sp.csr_matrix(predictions, dtype=np.float32, copy=True)
    pred.sum_duplicates()
    bad = ~np.isfinite(pred.data)
    if bad.any():
        row = int(np.searchsorted(pred.indptr, int(np.argmax(bad)), side="right") - 1)
        raise SkimError(
            f"predictions row {row} has score {float(pred.data[bad][0])}; scores must be finite"
        )
    pred = drop_pairs(pred, filter_pairs)
    return pred, _entry_ranks(pred, max_k)


def compute_metrics(
    predictions: sp.spmatrix | sp.sparray,
    truth: sp.spmatrix | sp.sparray,
    k: Sequence[int] = (1, 5, 10),
    inv_propensity: np.ndarray | None = None,
    filter_pairs: np.ndarray | None = None,
    ranked: tuple[sp.csr_matrix, np.ndarray] | None = None,
    empty_rows: str = DEFAULT_EMPTY_ROWS,
) -> dict[str, float]:
    """P@k, R@k, nDCG@k, coverage@k and, given label weights, PSP@k and PSnDCG@k.

    Parameters
    ----------
    predictions
        ``N x L`` scores, any finite numbers; the stored entries of a row are its ranked
        candidates (ties in any order). Entries listed in ``filter_pairs`` are removed
        before ranking.
    truth
        ``N x L`` true labels; any stored value > 0 is relevant.
    k
        Cut-offs.
    inv_propensity
        Inverse propensity weight of each label (see :func:`skim.data.inverse_propensity`);
        PSP@k and PSnDCG@k are left out when it is None.
    filter_pairs
        ``(n, 2)`` array of (row, col) pairs excluded from predictions.
    ranked
        :func:`rank_predictions` of the same predictions, filter and ``max(k)``, to reuse.
    empty_rows
        ``"skip"`` (default, the paper's R@k) leaves rows without a true label out of the
        means of P@k, R@k and nDCG@k; ``"keep"`` counts them as 0 there (pyxclib's
        ``precision``, ``recall``, ``ndcg``). See the module docstring.

    Returns
    -------
    dict
        Keys ``"P@k"``, ``"R@k"``, ``"nDCG@k"``, ``"coverage@k"`` (labels that appear in some
        top-k, over all labels), ``"PSP@k"``, ``"PSnDCG@k"``; values are fractions in [0, 1].
        PSP@k and PSnDCG@k are pyxclib's: the mean over rows of the propensity-weighted
        precision (DCG over the row's IDCG@k) over the same mean for the best possible
        ranking of each row's true labels.
    """
    ks = check_inputs(predictions, truth, k, empty_rows)
    truth = sp.csr_matrix(truth, copy=True)
    truth.data = (truth.data > 0).astype(np.float64)
    truth.eliminate_zeros()
    truth.sort_indices()
    n_rows, n_cols = truth.shape
    max_k = ks[-1]

    pred, rank = ranked or rank_predictions(predictions, max_k, filter_pairs)
    # entry ids that survive an element-wise product with the truth are the hits
    ids = sp.csr_matrix(
        (np.arange(1, pred.nnz + 1, dtype=np.float64), pred.indices, pred.indptr), shape=pred.shape
    )
    hit_ids = ids.multiply(truth).tocsr().data.astype(np.int64) - 1
    hit_ids = hit_ids[rank[hit_ids] < max_k]
    entry_rows = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(pred.indptr))
    h_rows, h_cols, h_rank = entry_rows[hit_ids], pred.indices[hit_ids], rank[hit_ids]
    best_rank_of_label = np.full(n_cols, max_k, dtype=np.int64)
    np.minimum.at(best_rank_of_label, pred.indices, rank)

    n_true = np.diff(truth.indptr).astype(np.float64)
    discount = _discounts(max_k)
    ideal = np.concatenate([[0.0], np.cumsum(discount)])
    gain = discount[h_rank]
    if inv_propensity is not None:
        weights = np.asarray(inv_propensity, dtype=np.float64)
        if weights.shape != (n_cols,):
            raise SkimError(f"inv_propensity has {weights.shape} entries, expected {n_cols}")
        best_row, best_rank, best_w = _best_weights(truth, weights, max_k)

    out: dict[str, float] = {}
    # the rows each per-row mean runs over (an empty row adds 0 to every sum below)
    n = max(int((n_true > 0).sum()) if empty_rows == "skip" else n_rows, 1)
    for kk in ks:
        top = h_rank < kk
        hits = np.bincount(h_rows[top], minlength=n_rows).astype(np.float64)
        dcg = np.bincount(h_rows[top], weights=gain[top], minlength=n_rows).astype(np.float64)
        idcg = ideal[np.minimum(kk, n_true).astype(np.int64)]
        out[f"P@{kk}"] = float(hits.sum() / kk / n)
        out[f"R@{kk}"] = float((hits / np.maximum(n_true, 1.0)).sum() / n)
        ndcg = np.divide(dcg, idcg, out=np.zeros_like(dcg), where=idcg > 0)
        out[f"nDCG@{kk}"] = float(ndcg.sum() / n)
        if inv_propensity is not None:
            w_hit = weights[h_cols[top]]
            best = best_rank < kk
            den_p = best_w[best].sum()
            # pyxclib's psndcg: each row's PSDCG over that row's IDCG@k, summed, over the
            # same sum for the best ranking (not the pooled PSDCG over the pooled best)
            norm = np.divide(1.0, idcg, out=np.zeros_like(idcg), where=idcg > 0)
            num_n = (w_hit * gain[top] * norm[h_rows[top]]).sum()
            b_rows, b_rank = best_row[best], best_rank[best]
            den_n = (best_w[best] * discount[b_rank] * norm[b_rows]).sum()
            out[f"PSP@{kk}"] = float(w_hit.sum() / den_p) if den_p > 0 else 0.0
            out[f"PSnDCG@{kk}"] = float(num_n / den_n) if den_n > 0 else 0.0
        out[f"coverage@{kk}"] = float((best_rank_of_label < kk).sum() / max(n_cols, 1))
    return {name: out[name] for name in _ordered_keys(ks, inv_propensity is not None)}


def _ordered_keys(ks: list[int], with_ps: bool) -> list[str]:
    names = [m for m in METRIC_NAMES if with_ps or not m.startswith("PS")]
    return [f"{m}@{kk}" for m in names for kk in ks]
