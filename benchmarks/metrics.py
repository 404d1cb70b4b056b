"""Time the vectorised metrics against a plain per-row Python loop computing the same numbers.

Usage: python benchmarks/metrics.py [--rows 100000] [--labels 100000] [--scored 100]
"""

from __future__ import annotations

import argparse
import math
import time
import tracemalloc

import numpy as np
import scipy.sparse as sp

from skim.evaluate import compute_metrics


def make_data(rows: int, labels: int, scored: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    # `scored` distinct labels per row: draw extra, push repeats to the end, keep the first ones
    draws = np.sort(rng.integers(0, labels, size=(rows, scored + 20)), axis=1)
    repeat = np.zeros(draws.shape, dtype=bool)
    repeat[:, 1:] = draws[:, 1:] == draws[:, :-1]
    cols = np.take_along_axis(draws, np.argsort(repeat, axis=1, kind="stable"), 1)[:, :scored]
    cols = rng.permuted(cols, axis=1)
    pred = sp.csr_matrix(
        (
            rng.random(rows * scored, dtype=np.float32),
            cols.ravel(),
            np.arange(0, rows * scored + 1, scored),
        ),
        shape=(rows, labels),
    )
    pred.sum_duplicates()
    n_true = rng.integers(0, 6, size=rows)
    # half of the true labels among the scored ones, so there are hits at every rank
    t_rows, t_cols = [], []
    for i, n in enumerate(n_true):
        picks = np.concatenate([cols[i, : n // 2 + n % 2], rng.integers(0, labels, size=n // 2)])
        t_rows.extend([i] * len(picks))
        t_cols.extend(picks.tolist())
    truth = sp.csr_matrix(
        (np.ones(len(t_rows), np.float32), (t_rows, t_cols)), shape=(rows, labels)
    )
    truth.data[:] = 1
    weights = 1.0 + rng.random(labels) * 3
    return pred, truth, weights


def loop_metrics(pred, truth, ks, weights):
    """The same definitions, one row at a time (the reference)."""
    max_k = max(ks)
    sums = {f"{m}@{k}": 0.0 for m in ("P", "R", "nDCG", "PSP", "PSnDCG") for k in ks}
    den = {f"{m}@{k}": 0.0 for m in ("PSP", "PSnDCG") for k in ks}
    covered = {k: set() for k in ks}
    n = pred.shape[0]
    for i in range(n):
        lo, hi = pred.indptr[i], pred.indptr[i + 1]
        order = np.argsort(-pred.data[lo:hi], kind="stable")[:max_k]
        top = pred.indices[lo:hi][order].tolist()
        true = set(truth.indices[truth.indptr[i] : truth.indptr[i + 1]].tolist())
        best = sorted((weights[j] for j in true), reverse=True)
        for k in ks:
            hits = [r for r, j in enumerate(top[:k]) if j in true]
            covered[k].update(top[:k])
            sums[f"P@{k}"] += len(hits) / k
            sums[f"R@{k}"] += len(hits) / max(len(true), 1)
            idcg = sum(1 / math.log2(r + 2) for r in range(min(k, len(true))))
            dcg = sum(1 / math.log2(r + 2) for r in hits)
            sums[f"nDCG@{k}"] += dcg / idcg if idcg else 0.0
            sums[f"PSP@{k}"] += sum(weights[top[r]] for r in hits)
            den[f"PSP@{k}"] += sum(best[:k])
            sums[f"PSnDCG@{k}"] += sum(weights[top[r]] / math.log2(r + 2) for r in hits)
            den[f"PSnDCG@{k}"] += sum(w / math.log2(r + 2) for r, w in enumerate(best[:k]))
    out = {}
    for key, value in sums.items():
        out[key] = value / den[key] if key in den else value / n
    for k in ks:
        out[f"coverage@{k}"] = len(covered[k]) / pred.shape[1]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--labels", type=int, default=100_000)
    parser.add_argument("--scored", type=int, default=100)
    args = parser.parse_args()
    ks = (1, 5, 10, 100)
    pred, truth, weights = make_data(args.rows, args.labels, args.scored)
    print(f"{args.rows} rows x {pred.nnz / args.rows:.1f} scored labels over {args.labels} labels")

    tracemalloc.start()
    fast = compute_metrics(pred, truth, ks, weights)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    t_fast = float("inf")
    for _ in range(3):  # best of three: the machine is shared
        t0 = time.perf_counter()
        compute_metrics(pred, truth, ks, weights)
        t_fast = min(t_fast, time.perf_counter() - t0)

    t0 = time.perf_counter()
    slow = loop_metrics(pred, truth, ks, weights)
    t_slow = time.perf_counter() - t0

    worst = max(abs(fast[key] - slow[key]) for key in slow)
    print(f"vectorised: {t_fast:.2f} s, peak traced memory {peak / 2**20:.0f} MiB")
    print(f"per-row loop: {t_slow:.2f} s")
    print(
        f"speed-up: {t_slow / t_fast:.1f}x; max |difference| over {len(slow)} metrics: {worst:.2e}"
    )


if __name__ == "__main__":
    main()
