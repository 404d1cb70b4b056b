"""Issue 14: how far skim's metrics moved when they came to follow pyxclib.

Scores every predictions matrix of a ``skim run`` / ``skim demo`` folder (and, with
``--random``, seeded random scores for 100 labels per row) on the run's observed and unbiased
test labels three ways: skim before issue 14 (``src/skim/evaluate/metrics.py`` at the git
revision ``--before``: pooled PSnDCG, rows without labels kept), and skim now with
``empty_rows="keep"`` and with the default ``"skip"``. Prints a markdown table of the largest
absolute difference, in points, over the cut-offs and the matrices, per metric and label set.

    python benchmarks/metrics_pyxclib.py RUN [--before e06145e] [--random]
"""

from __future__ import annotations

import argparse
import subprocess
import types
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from skim.data import load_dataset, load_matrix
from skim.evaluate.metrics import METRIC_NAMES
from skim.evaluate.scoring import DEFAULT_K, evaluate_predictions

ROOT = Path(__file__).resolve().parents[1]
MODES = ("keep", "skip")


def metrics_before(rev: str) -> types.ModuleType:
    """The metrics module as it was at git revision ``rev``."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:src/skim/evaluate/metrics.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    module = types.ModuleType("skim_metrics_before")
    exec(compile(source, f"{rev}:metrics.py", "exec"), module.__dict__)  # noqa: S102 - our code
    return module


def random_scores(n_rows: int, n_cols: int, per_row: int = 100, seed: int = 0) -> sp.csr_matrix:
    """``per_row`` random labels per row with uniform random scores."""
    rng = np.random.default_rng(seed)
    cols = np.argsort(rng.random((n_rows, n_cols)), axis=1)[:, :per_row]
    rows = np.repeat(np.arange(n_rows), per_row)
    return sp.csr_matrix((rng.random(rows.size), (rows, cols.ravel())), shape=(n_rows, n_cols))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a skim run folder (dataset/ and predictions/)")
    parser.add_argument("--before", default="e06145e", help="git revision before issue 14")
    parser.add_argument("--random", action="store_true", help="also score random predictions")
    args = parser.parse_args()

    dataset = load_dataset(args.run / "dataset")
    old = metrics_before(args.before)
    named = {p.stem: load_matrix(p, scores=True) for p in sorted(args.run.glob("predictions/*"))}
    if args.random:
        named["random"] = random_scores(dataset.n_tst, dataset.n_labels)
    splits = {"observed": dataset.tst_X_Y, "unbiased": dataset.tst_X_Y_unbiased}
    splits = {name: truth for name, truth in splits.items() if truth is not None}
    weights = dataset.inv_propensity()
    worst: dict[tuple[str, str, str], float] = {}
    examples = []
    for name, pred in named.items():
        now = {mode: evaluate_predictions(dataset, pred, DEFAULT_K, mode) for mode in MODES}
        for split, truth in splits.items():
            before = old.compute_metrics(pred, truth, DEFAULT_K, weights, dataset.tst_filter)
            examples.append(
                f"| {name} | {split} | {100 * before['R@100']:.2f} | "
                f"{100 * now['skip'][split]['R@100']:.2f} | {100 * before['PSnDCG@5']:.2f} | "
                f"{100 * now['skip'][split]['PSnDCG@5']:.2f} |"
            )
            for key, value in before.items():
                for mode in MODES:
                    cell = (key.split("@")[0], split, mode)
                    diff = 100 * abs(now[mode][split][key] - value)
                    worst[cell] = max(worst.get(cell, 0.0), diff)
    for split, truth in splits.items():
        empty = int((np.diff(sp.csr_matrix(truth > 0).indptr) == 0).sum())
        print(f"{split}: {empty} of {truth.shape[0]} test rows without a true label")
    print(f"matrices: {', '.join(named)}; k = {', '.join(map(str, DEFAULT_K))}\n")
    columns = [(split, mode) for split in splits for mode in MODES]
    head = " | ".join(f"{split}, empty_rows = {mode}" for split, mode in columns)
    print(f"| metric | {head} |\n|---|" + "---:|" * len(columns))
    for name in METRIC_NAMES:
        cells = " | ".join(f"{worst[(name, split, mode)]:.4f}" for split, mode in columns)
        print(f"| {name}@k | {cells} |")
    print("\n| matrix | labels | R@100 before | R@100 now (skip) | PSnDCG@5 before | now |")
    print("|---|---|---:|---:|---:|---:|")
    print("\n".join(examples))


if __name__ == "__main__":
    main()
