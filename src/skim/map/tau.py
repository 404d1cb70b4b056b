"""Measuring and choosing tau on train rows whose complete labels are known.

Where some rows' complete labels are known (a simulation's ``trn_X_Y_unbiased``, or the
teacher's gold seed rows), the pairs a mapping adds on those rows can be checked: precision =
share of the new pairs (pairs not among the clicks) that are true, recovered = share of the
rows' missing true pairs that the mapping adds. Both are measured against the clicks
(``dataset.trn_X_Y``), never against the matrix the mapping is united with, because that
matrix may already hold the seed rows' complete labels.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from skim.data import Dataset, canonical, load_matrix
from skim.data.readfile import parse_int, read_text
from skim.errors import SkimError
from skim.pairs import contains, pair_keys

DEFAULT_TAU_GRID = tuple(round(0.5 + 0.01 * i, 2) for i in range(50))
"""Taus that ``tau="auto"`` tries: 0.50, 0.51, ..., 0.99 (cosine 0 to 0.98)."""
MIN_KNOWN_PAIRS = 10
"""``tau="auto"`` trusts a precision estimate only if it rests on at least this many pairs."""


@dataclass
class KnownLabels:
    """Complete labels of some train rows.

    Attributes
    ----------
    complete
        ``N_trn x L`` matrix; only its ``rows`` are trusted to be complete.
    rows
        Sorted, distinct train row indices whose labels are complete.
    origin
        Where they came from, for manifests (a path or ``"trn_X_Y_unbiased"``).
    """

    complete: sp.csr_matrix
    rows: np.ndarray
    origin: str

    def describe(self) -> dict:
        return {"origin": self.origin, "rows": int(len(self.rows))}


def read_rows(path: str | os.PathLike, n_rows: int) -> np.ndarray:
    """Row indices from a file: integers separated by whitespace or commas (``.txt``), or JSON
    holding a list or an object with a ``"rows"``, ``"seed_rows"`` or ``"known_rows"`` list."""
    path = Path(path)
    text = read_text(path, "known-rows file")
    if path.suffix == ".json":
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SkimError(f"{path}: not valid JSON ({exc.msg})") from None
        except RecursionError:
            raise SkimError(f"{path}: not valid JSON (nested too deeply)") from None
        if isinstance(obj, dict):
            obj = next((obj[k] for k in ("rows", "seed_rows", "known_rows") if k in obj), None)
        if not isinstance(obj, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in obj
        ):
            raise SkimError(
                f'{path}: expected a list of row indices or {{"rows": [...]}} of integers'
            )
        values = obj
    else:
        values = [
            parse_int(token, f"{path}, line {lineno}", "row index")
            for lineno, line in enumerate(text.split("\n"), start=1)
            for token in line.replace(",", " ").split()
        ]
    bad = next((v for v in values if not 0 <= v < n_rows), None)  # before int64 can overflow
    if bad is not None:
        raise SkimError(f"{path}: row {bad} is out of range [0, {n_rows}) (trn_X.txt lines)")
    return _check_rows(np.asarray(values, dtype=np.int64), n_rows, str(path))


def _check_rows(rows: np.ndarray, n_rows: int, where: str) -> np.ndarray:
    rows = np.unique(np.asarray(rows, dtype=np.int64))
    if len(rows) and (rows[0] < 0 or rows[-1] >= n_rows):
        bad = rows[0] if rows[0] < 0 else rows[-1]
        raise SkimError(f"{where}: row {bad} is out of range [0, {n_rows}) (trn_X.txt lines)")
    return rows


def resolve_known(
    dataset: Dataset,
    known: sp.spmatrix | str | os.PathLike | None = None,
    known_rows: np.ndarray | list[int] | str | os.PathLike | None = None,
) -> KnownLabels | None:
    """The rows with known complete labels, or None when there are none.

    Parameters
    ----------
    known
        A train label matrix complete on some rows, e.g. the teacher's ``demos.seed.npz``
        (clicks plus the seed rows' gold labels). Default: the dataset's ``trn_X_Y_unbiased``,
        all of whose rows are complete (a simulation's diagnostic).
    known_rows
        Which rows of ``known`` are complete: indices or a file (see :func:`read_rows`).
        Default for an explicit ``known``: the rows where it differs from the clicks. That
        misses complete rows with nothing missing, so precision is then a little optimistic;
        pass the seed's row list when you have it.
    """
    n_rows = dataset.n_trn
    if known is None:
        if dataset.trn_X_Y_unbiased is None:
            if known_rows is not None:
                raise SkimError(
                    "known rows were given but no complete labels: pass known (e.g. the "
                    "teacher's seed matrix) or add trn_X_Y_unbiased.npz to the dataset"
                )
            return None
        complete, origin = dataset.trn_X_Y_unbiased, "trn_X_Y_unbiased"
        rows = np.arange(n_rows, dtype=np.int64)
    else:
        if isinstance(known, (str, os.PathLike)):
            complete, origin = load_matrix(known), str(known)
        else:
            complete, origin = canonical(known), "matrix"
        if complete.shape != dataset.trn_X_Y.shape:
            raise SkimError(
                f"known labels ({origin}) have shape {complete.shape[0]} x {complete.shape[1]}, "
                f"but trn_X_Y is {dataset.trn_X_Y.shape[0]} x {dataset.trn_X_Y.shape[1]}"
            )
        differs = (complete > 0).astype(np.int8) - (dataset.trn_X_Y > 0).astype(np.int8)
        rows = np.unique(sp.csr_matrix(differs).nonzero()[0]).astype(np.int64)
    if known_rows is not None:
        if isinstance(known_rows, (str, os.PathLike)):
            rows = read_rows(known_rows, n_rows)
        else:
            rows = _check_rows(np.asarray(known_rows), n_rows, "known rows")
    return KnownLabels(canonical(complete), rows, origin)


def _count_at_least(sorted_values: np.ndarray, taus: np.ndarray) -> np.ndarray:
    return len(sorted_values) - np.searchsorted(sorted_values, taus, side="left")


def known_candidates(
    keys: np.ndarray, n_cols: int, click_keys: np.ndarray, known: KnownLabels,
    complete_keys: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Which pair ``keys`` the known rows can judge, and which of those are right.

    A candidate lies on a row with known complete labels and is not a click (a click is
    right by construction, so it would flatter the estimate); it is right when the complete
    labels hold it. ``click_keys`` and ``complete_keys`` are the :func:`pair_keys` of the
    clicks and of ``known.complete`` (the caller builds them once). Returns the two boolean
    masks (candidate, candidate and right).
    """
    candidate = contains(known.rows, keys // n_cols) & ~contains(click_keys, keys)
    return candidate, candidate & contains(complete_keys, keys)


def tau_table(
    scores: sp.csr_matrix,
    taus: list[float] | tuple[float, ...],
    observed: sp.csr_matrix,
    clicks: sp.csr_matrix,
    known: KnownLabels | None = None,
) -> list[dict]:
    """What each tau would add, and how well, from one aggregated score matrix.

    Thresholding commutes with max aggregation, so a single mapping at ``min(taus)`` answers
    for every tau.

    Parameters
    ----------
    scores
        Aggregated mapping scores (a pair's max over the texts proposing it), at least
        ``min(taus)``.
    observed
        The matrix the mapping is united with: ``new_pairs`` counts pairs not stored in it.
    clicks
        The observed train labels ``trn_X_Y``, against which known rows are measured.
    known
        Rows with complete labels; without them precision and recovered are None.

    Returns
    -------
    list of dict
        One row per tau, ascending: ``tau``, ``pairs_kept``, ``new_pairs``, ``precision``,
        ``recovered``, ``known_new_pairs`` (new pairs on known rows, the precision's support),
        ``known_true_pairs`` and ``known_missing_pairs``.
    """
    taus_arr = np.asarray(sorted(taus), dtype=np.float32)
    keys = pair_keys(scores)
    values = scores.data[scores.data != 0]
    is_new = ~contains(pair_keys(observed), keys)
    kept = _count_at_least(np.sort(values), taus_arr)
    new = _count_at_least(np.sort(values[is_new]), taus_arr)
    if known is not None:
        n_cols = scores.shape[1]
        click_keys, complete_keys = pair_keys(clicks), pair_keys(known.complete)
        candidate, true = known_candidates(keys, n_cols, click_keys, known, complete_keys)
        known_new = _count_at_least(np.sort(values[candidate]), taus_arr)
        known_true = _count_at_least(np.sort(values[true]), taus_arr)
        missing = int(
            np.count_nonzero(
                contains(known.rows, complete_keys // n_cols) & ~contains(click_keys, complete_keys)
            )
        )
    table = []
    for i, tau in enumerate(taus_arr):
        row = {
            "tau": round(float(tau), 6),
            "pairs_kept": int(kept[i]),
            "new_pairs": int(new[i]),
            "precision": None,
            "recovered": None,
        }
        if known is not None:
            kn, kt = int(known_new[i]), int(known_true[i])
            row.update(
                precision=kt / kn if kn else None,
                recovered=kt / missing if missing else None,
                known_new_pairs=kn,
                known_true_pairs=kt,
                known_missing_pairs=missing,
            )
        table.append(row)
    return table


class TauUnreachable(SkimError):
    """No tau of the grid is known to reach the requested precision on the known rows.

    ``table`` holds the measured rows (tau, new pairs, precision, recovered) for the report.
    """

    def __init__(self, message: str, table: list[dict] | None = None) -> None:
        super().__init__(message)
        self.table = table or []


def choose_tau(
    table: list[dict], target_precision: float, min_known_pairs: int = MIN_KNOWN_PAIRS
) -> dict:
    """The row of the smallest tau whose precision reaches ``target_precision``.

    Only estimates resting on at least ``min_known_pairs`` new pairs of known rows count, so
    a tau is not chosen on the luck of a pair or two.
    """
    trusted = [
        r
        for r in sorted(table, key=lambda r: r["tau"])
        if r["precision"] is not None and r.get("known_new_pairs", 0) >= min_known_pairs
    ]
    for row in trusted:
        if row["precision"] >= target_precision:
            return row
    if not trusted:
        raise TauUnreachable(
            f"no tau in [{table[0]['tau']}, {table[-1]['tau']}] adds {min_known_pairs} or more "
            "new pairs on the rows with known complete labels, so precision cannot be "
            "estimated; give more known rows or set tau by hand",
            table,
        )
    best = max(trusted, key=lambda r: r["precision"])
    raise TauUnreachable(
        f"no tau reaches precision {target_precision:g} on the rows with known complete labels "
        f"(best {best['precision']:.3f} at tau {best['tau']:g}); lower --target-precision or "
        "map with an encoder tuned on the dataset",
        table,
    )


def format_table(table: list[dict]) -> str:
    """The sweep as aligned text, one line per tau."""
    lines = [f"{'tau':>6} {'pairs_kept':>11} {'new_pairs':>10} {'precision':>10} {'recovered':>10}"]
    for r in table:
        prec = "-" if r["precision"] is None else f"{r['precision']:.4f}"
        rec = "-" if r["recovered"] is None else f"{r['recovered']:.4f}"
        lines.append(
            f"{r['tau']:>6.3g} {r['pairs_kept']:>11} {r['new_pairs']:>10} {prec:>10} {rec:>10}"
        )
    return "\n".join(lines)
