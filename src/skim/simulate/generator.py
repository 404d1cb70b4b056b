"""A SIMULATED generator: pairs of a chosen precision and recovery, drawn from complete labels.

Only for datasets whose complete train labels are known (``trn_X_Y_unbiased``). It stands for
a teacher + student + mapping of a given quality, to ask how good they must be before SKIM's
pairs pay off on a dataset (:mod:`skim.evaluate.whatif`). It reads the answers, so it is never
a SKIM generator and never fills a SKIM row of a comparison.

For each train query it writes a share ``recovery`` of the true labels that the known labels
(observed + seed) lack, plus wrong labels, so that a share ``precision`` of all its pairs is
true. Wrong labels are plausible: labels close, by a label-embedding, to one of the query's
true labels (a sibling concept rather than a random one), or uniformly random labels when no
embedding is given.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from skim.data import canonical
from skim.errors import SkimError
from skim.pairs import contains, pair_keys

SIMULATED = "simulated generator (reads the complete labels; never a SKIM row)"
DEFAULT_NEIGHBOURS = 10


def largest_remainder(shares: np.ndarray, total: int, rng: np.random.Generator) -> np.ndarray:
    """Integer quotas summing to ``total``, each the floor or the ceiling of its share.

    ``shares`` must sum to ``total`` (up to float rounding). The floors are topped up by one
    on the rows with the largest fractional parts, ties broken at random.
    """
    floors = np.floor(shares + 1e-9).astype(np.int64)
    left = int(total - floors.sum())
    if left > 0:
        fraction = shares - floors
        order = np.lexsort((rng.random(len(shares)), -fraction))
        floors[order[:left]] += 1
    return floors


def _rank_within_rows(rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random order of the entries of each row: the entry's rank among its row's entries."""
    order = np.lexsort((rng.random(len(rows)), rows))
    ranks = np.empty(len(rows), dtype=np.int64)
    sorted_rows = rows[order]
    starts = np.flatnonzero(np.r_[True, sorted_rows[1:] != sorted_rows[:-1]])
    lengths = np.diff(np.r_[starts, len(rows)])
    ranks[order] = np.arange(len(rows)) - np.repeat(starts, lengths)
    return ranks


def _nearest_labels(label_vecs: np.ndarray, k: int, chunk: int = 1024) -> np.ndarray:
    """For each label, its ``k`` nearest other labels by inner product (``(L, k)`` ids, best
    first; -1 pads when there are fewer other labels). Chunked: memory ``chunk x L``."""
    vecs = np.asarray(label_vecs, dtype=np.float32)
    n = len(vecs)
    k_eff = min(k, n - 1)
    out = np.full((n, k), -1, dtype=np.int64)
    if k_eff <= 0:
        return out
    for a in range(0, n, chunk):
        scores = vecs[a : a + chunk] @ vecs.T
        scores[np.arange(len(scores)), np.arange(a, a + len(scores))] = -np.inf  # not itself
        top = np.argpartition(-scores, k_eff - 1, axis=1)[:, :k_eff]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
        out[a : a + len(scores), :k_eff] = np.take_along_axis(top, order, axis=1)
    return out


def _wrong_labels(
    truth: sp.csr_matrix,
    excluded: np.ndarray,
    quotas: np.ndarray,
    near: np.ndarray | None,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, int]:
    """(rows, cols) of ``quotas[i]`` wrong labels per row, and how many were random fill-ins.

    Candidates of a row are the nearest labels of its true labels, minus ``excluded`` pair
    keys (true or already known); the row takes them at random. When a row has fewer
    candidates than its quota (or no embedding is given) the rest are uniform random labels
    outside ``excluded``.
    """
    n_labels = truth.shape[1]
    rows_out: list[np.ndarray] = []
    cols_out: list[np.ndarray] = []
    filled = 0
    for i in np.flatnonzero(quotas):
        need = int(quotas[i])
        lo, hi = np.searchsorted(excluded, [i * n_labels, (i + 1) * n_labels])
        banned = excluded[lo:hi] - i * n_labels
        chosen = np.empty(0, dtype=np.int64)
        if near is not None:
            cand = np.unique(near[truth.indices[truth.indptr[i] : truth.indptr[i + 1]]].ravel())
            cand = np.setdiff1d(cand[cand >= 0], banned)
            chosen = rng.permutation(cand)[:need]
        if len(chosen) < need:
            free = np.setdiff1d(np.arange(n_labels), np.union1d(banned, chosen))
            if len(free) < need - len(chosen):
                raise SkimError(
                    f"train query {i} has too few wrong labels left for the asked precision"
                )
            extra = rng.choice(free, need - len(chosen), replace=False)
            filled += len(extra)
            chosen = np.concatenate([chosen, extra])
        rows_out.append(np.full(need, i, dtype=np.int64))
        cols_out.append(chosen.astype(np.int64))
    if not rows_out:
        return np.empty(0, np.int64), np.empty(0, np.int64), 0
    return np.concatenate(rows_out), np.concatenate(cols_out), filled


def _weighted_sample(
    missing: np.ndarray, n_labels: int, label_weights: np.ndarray, count: int, rng
) -> np.ndarray:
    """``count`` of the ``missing`` pair keys, drawn without replacement with probability
    proportional to their label's weight (Efraimidis-Spirakis keys ``log(u) / w``)."""
    weights = np.asarray(label_weights, dtype=np.float64)
    if weights.shape != (n_labels,) or (weights < 0).any() or not np.isfinite(weights).all():
        raise SkimError(f"label weights must be {n_labels} finite non-negative numbers")
    w = weights[missing % n_labels]
    drawable = int((w > 0).sum())
    if count > drawable:
        raise SkimError(
            f"recovery asks {count} pairs but only {drawable} missing pairs have a label of "
            "positive weight"
        )
    with np.errstate(divide="ignore"):
        keys = np.where(w > 0, np.log(rng.random(len(missing))) / np.where(w > 0, w, 1), -np.inf)
    return np.sort(missing[np.argsort(-keys, kind="stable")[:count]])


def label_recovery_rates(
    labels: sp.csr_matrix, known: sp.csr_matrix, truth: sp.csr_matrix, floor: float = 0.01
) -> np.ndarray:
    """Per label, the share of its missing pairs that ``labels`` recovers (a real generator's
    label mix), raised to ``floor`` times the largest rate where a label has missing pairs,
    so that any recovery stays reachable when it serves as ``label_weights``."""
    n_labels = truth.shape[1]
    known_keys, true_keys = pair_keys(canonical(known)), pair_keys(canonical(truth))
    missing = true_keys[~contains(known_keys, true_keys)]
    keys = pair_keys(canonical(sp.csr_matrix(labels)))
    found = keys[contains(missing, keys)]
    per_label = np.bincount(missing % n_labels, minlength=n_labels).astype(np.float64)
    rates = np.bincount(found % n_labels, minlength=n_labels) / np.maximum(per_label, 1)
    top = rates.max() if len(rates) and rates.max() > 0 else 1.0
    return np.where(per_label > 0, np.maximum(rates, floor * top), 0.0)


def check_rates(precision: float, recovery: float) -> None:
    """Raise a one-sentence error unless precision is in (0, 1] and recovery in [0, 1]."""
    if not 0.0 < precision <= 1.0:
        raise SkimError(f"--precision must be in (0, 1], got {precision}")
    if not 0.0 <= recovery <= 1.0:
        raise SkimError(f"--recovery must be in [0, 1], got {recovery}")


def simulate_generator(
    truth: sp.csr_matrix,
    known: sp.csr_matrix,
    precision: float,
    recovery: float,
    label_vecs: np.ndarray | None = None,
    neighbours: int = DEFAULT_NEIGHBOURS,
    seed: int = 0,
    label_weights: np.ndarray | None = None,
) -> tuple[sp.csr_matrix, dict[str, Any]]:
    """New pairs of a SIMULATED generator with the given precision and recovery.

    Parameters
    ----------
    truth
        Complete train labels (``trn_X_Y_unbiased``).
    known
        Labels the learner already has (observed + seed): their pairs are never written.
    precision
        Share of the written pairs that are true, in (0, 1].
    recovery
        Share of the missing pairs (true, not known) that are written, in [0, 1].
    label_vecs
        ``(L, d)`` label embeddings; a wrong label is one of the ``neighbours`` nearest labels
        of one of the query's true labels. None: uniform random wrong labels.
    seed
        Seed of every random choice.
    label_weights
        ``(L,)`` non-negative weights. None: each query gets a uniform share of its missing
        labels. Given: the correct pairs are drawn over all missing pairs, without replacement,
        with probability proportional to their label's weight (e.g. a real generator's
        per-label recovery rates, :func:`label_recovery_rates`), so that they fall on the
        labels a real generator reaches; the per-query floor/ceiling no longer holds.

    Returns
    -------
    pairs, info
        The new pairs (value 1, only pairs not in ``known``) and ``info``: ``generator``
        (:data:`SIMULATED`), the asked and the realised ``precision`` and ``recovery``,
        ``correct_pairs``, ``wrong_pairs``, ``missing_pairs`` and ``random_wrong_pairs``
        (wrong pairs that had to be uniform random).

    The counts are exact: ``round(recovery * missing)`` correct pairs, each query getting the
    floor or the ceiling of ``recovery`` times its missing pairs, and
    ``round(correct * (1 - precision) / precision)`` wrong ones, spread over the queries in
    proportion to their number of true labels. The realised precision is
    ``correct / (correct + wrong)``, within ``1 / (correct + wrong)`` of the asked one.
    """
    check_rates(precision, recovery)
    if truth.shape != known.shape:
        raise SkimError(
            f"the known labels are {known.shape[0]} x {known.shape[1]} but the complete ones "
            f"{truth.shape[0]} x {truth.shape[1]}"
        )
    if label_vecs is not None and len(label_vecs) != truth.shape[1]:
        raise SkimError(f"{len(label_vecs)} label vectors for {truth.shape[1]} labels")
    rng = np.random.default_rng(seed)
    truth, known = canonical(sp.csr_matrix(truth)), canonical(sp.csr_matrix(known))
    n_rows, n_labels = truth.shape
    true_keys, known_keys = pair_keys(truth), pair_keys(known)
    missing = true_keys[~contains(known_keys, true_keys)]
    missing_rows = missing // n_labels
    per_row = np.bincount(missing_rows, minlength=n_rows)
    n_correct = int(round(recovery * len(missing)))
    if label_weights is None:
        quotas = largest_remainder(recovery * per_row.astype(np.float64), n_correct, rng)
        correct = missing[_rank_within_rows(missing_rows, rng) < quotas[missing_rows]]
    else:
        correct = _weighted_sample(missing, n_labels, label_weights, n_correct, rng)

    n_wrong = int(round(n_correct * (1.0 - precision) / precision))
    true_per_row = np.diff(truth.indptr).astype(np.float64)
    weights = true_per_row if true_per_row.sum() else np.ones(n_rows)
    wrong_quotas = largest_remainder(weights * n_wrong / weights.sum(), n_wrong, rng)
    near = None if label_vecs is None else _nearest_labels(label_vecs, neighbours)
    excluded = np.union1d(true_keys, known_keys)
    w_rows, w_cols, filled = _wrong_labels(truth, excluded, wrong_quotas, near, rng)

    rows = np.concatenate([correct // n_labels, w_rows])
    cols = np.concatenate([correct % n_labels, w_cols])
    pairs = canonical(
        sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=truth.shape)
    )
    written = n_correct + len(w_rows)
    info = {
        "generator": SIMULATED,
        "asked": {"precision": precision, "recovery": recovery},
        "precision": n_correct / written if written else None,
        "recovery": n_correct / len(missing) if len(missing) else None,
        "correct_pairs": n_correct,
        "wrong_pairs": int(len(w_rows)),
        "missing_pairs": int(len(missing)),
        "random_wrong_pairs": int(filled),
        "wrong_labels": "near true labels" if label_vecs is not None else "uniform random",
        "correct_labels": "uniform share per query" if label_weights is None else "weighted",
        "seed": seed,
    }
    return pairs, info


def pair_quality(
    labels: sp.csr_matrix, known: sp.csr_matrix, truth: sp.csr_matrix
) -> dict[str, Any]:
    """Precision and recovery of the pairs ``labels`` adds to ``known``, on every train row.

    Precision = share of the new pairs (in ``labels``, not in ``known``) that are true;
    recovery = share of the missing pairs (true, not in ``known``) among them. The same
    definitions as :func:`simulate_generator`'s, so real and simulated points compare.
    """
    known_keys, true_keys = pair_keys(canonical(known)), pair_keys(canonical(truth))
    keys = pair_keys(canonical(sp.csr_matrix(labels)))
    new = keys[~contains(known_keys, keys)]
    hits = int(contains(true_keys, new).sum())
    missing = int((~contains(known_keys, true_keys)).sum())
    return {
        "new_pairs": int(len(new)),
        "correct_pairs": hits,
        "missing_pairs": missing,
        "precision": hits / len(new) if len(new) else None,
        "recovery": hits / missing if missing else None,
    }
