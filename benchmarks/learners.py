"""Fit time and quality of the learners (and methods) on one dataset directory.

    PYTHONPATH=src python benchmarks/learners.py DATASET [--learners ova,dual]
        [--methods none,ips] [--epochs 3] [--cache-dir DIR] [--out results.json]

Prints one row per (learner, method): fit seconds, predict seconds, peak RSS, and
unbiased (if present) and observed R@10/25/100 and P@5.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from skim.data import load_dataset
from skim.evaluate import evaluate_predictions
from skim.learners import predict, train
from skim.modelfolder import read_config

K = (5, 10, 25, 100)


def run(dataset, learner: str, method: str, epochs: int, cache_dir: str | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        model = train(
            dataset,
            Path(tmp) / "m",
            learner=learner,
            method=method,
            epochs=epochs,
            cache_dir=cache_dir,
        )
        trained = time.perf_counter()
        pred = predict(dataset, model, k=100, cache_dir=cache_dir)
        done = time.perf_counter()
        config = read_config(model)
    metrics = evaluate_predictions(dataset, pred, K)
    return {
        "learner": learner,
        "method": method,
        "train_s": round(trained - started, 1),
        "fit_s": config["training"]["fit_seconds"],
        "fit_cpu_s": config["training"]["fit_cpu_seconds"],
        "predict_s": round(done - trained, 1),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
        "training": config["training"],
        "metrics": metrics,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset")
    parser.add_argument("--learners", default="ova,dual")
    parser.add_argument("--methods", default="none")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--cache-dir")
    parser.add_argument("--out")
    args = parser.parse_args()
    dataset = load_dataset(args.dataset)
    rows = []
    header = (
        "learner  method     train_s  fit_s  fit_cpu_s  pred_s  uR@10  uR@25  uR@100  uP@5  oR@100"
    )
    print(header)
    for method in args.methods.split(","):
        for learner in args.learners.split(","):
            row = run(dataset, learner, method, args.epochs, args.cache_dir)
            rows.append(row)
            u = row["metrics"].get("unbiased", row["metrics"]["observed"])
            o = row["metrics"]["observed"]
            print(
                f"{learner:<8} {method:<10} {row['train_s']:>7} {row['fit_s']:>6} "
                f"{row['fit_cpu_s']:>9} {row['predict_s']:>7} {u['R@10']:.3f}  {u['R@25']:.3f}  "
                f"{u['R@100']:.3f}  {u['P@5']:.3f} {o['R@100']:.3f}",
                flush=True,
            )
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
