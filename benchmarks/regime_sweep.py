"""The bias regime sweep (issue 11, item 2): baselines and SKIM per exposure top-K and depth.

A Figure 3-style sweep on the quick WordNet subset (noun.food + noun.plant): for each label
depth (2, "all" ancestors) and exposure top-K, one ``skim compare`` run with the quick demo's
settings (``skim.demo.demo_config(quick=True)``: its seed, generator, mapping levers and
epochs) and the methods none, IPS, LEVER, Gandalf, MAR control and oracle (``--methods``).
Prints one JSON line per regime and writes ``regimes.json`` and ``regimes.md`` under OUT::

    python benchmarks/regime_sweep.py OUT [--depths 2,all] [--ks 10,20,50,200] [--methods none]

Every regime is a resumable ``skim run`` folder (OUT/depth-D-topk-K): a rerun skips what is
done.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

METHODS = ["none", "ips", "lever", "gandalf", "mar"]
SHOWN = (
    ("observed + seed", "none"),
    ("observed + seed, ips", "IPS"),
    ("observed + seed, lever", "LEVER"),
    ("observed + seed, gandalf", "Gandalf"),
    ("MAR control (same pair count)", "MAR"),
    ("SKIM (extractive)", "SKIM"),
    ("oracle (complete labels)", "oracle"),
)


def regime_config(
    out: Path, depth: int | str, topk: int, methods: list[str] = METHODS
) -> dict[str, Any]:
    """The quick demo's config with this regime's dataset and the baselines' methods."""
    from skim.demo import demo_config

    raw = demo_config(out, quick=True)
    raw["dataset"].update(depth=depth, exposure_topk=topk)
    raw["train"]["methods"] = list(methods)
    return raw


def regime_stats(run: Path) -> dict[str, Any]:
    """Observed share of the true train pairs, observed and true labels per train query."""
    from skim.data import load_dataset

    ds = load_dataset(run / "dataset")
    obs, true = ds.trn_X_Y, ds.trn_X_Y_unbiased
    return {
        "train_queries": ds.n_trn,
        "labels": ds.n_labels,
        "observed_share": round(obs.nnz / true.nnz, 4),
        "observed_per_query": round(obs.nnz / ds.n_trn, 2),
        "true_per_query": round(true.nnz / ds.n_trn, 2),
        "queries_without_observed": round(float((np.diff(obs.indptr) == 0).mean()), 4),
    }


def guard_summary(run: Path) -> dict[str, Any]:
    """New pairs the calibrated guard let SKIM add, and the best precision estimated on the
    seed rows over its tau grid (with at least MIN_KNOWN_PAIRS pairs of support)."""
    from skim.map import manifest_path
    from skim.map.tau import MIN_KNOWN_PAIRS

    manifest = json.loads(
        manifest_path(run / "trn_X_Y_skim-extractive.npz").read_text(encoding="utf-8")
    )
    table = [
        r
        for r in manifest.get("tau_table", [])
        if r.get("precision") is not None and r.get("known_new_pairs", 0) >= MIN_KNOWN_PAIRS
    ]
    best = max(table, key=lambda r: r["precision"], default=None)
    return {
        "new_pairs": int(manifest["counts"].get("new_pairs", 0)),
        "best_precision": None if best is None else round(best["precision"], 3),
        "best_tau": None if best is None else best["tau"],
        "recovered_at_best": None if best is None else round(best["recovered"], 3),
    }


def markdown(rows: list[dict[str, Any]]) -> str:
    """Two tables: each regime's statistics, then unbiased R@100 / P@5 per method x learner."""
    lines = [
        "| depth | exposure top-K | labels | observed share | observed / query | "
        "true / query | queries with no label | SKIM pairs added | guard: best est. precision "
        "(recovered) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        s, g = r["stats"], r["guard"]
        best = (
            "-"
            if g["best_precision"] is None
            else (
                f"{100 * g['best_precision']:.1f}% at tau {g['best_tau']:g} "
                f"({100 * g['recovered_at_best']:.1f}%)"
            )
        )
        lines.append(
            f"| {r['depth']} | {r['topk']} | {s['labels']:,} | {100 * s['observed_share']:.1f}% "
            f"| {s['observed_per_query']:.2f} | {s['true_per_query']:.2f} "
            f"| {100 * s['queries_without_observed']:.1f}% | {g['new_pairs']:,} | {best} |"
        )
    head = " | ".join(short for _, short in SHOWN)
    lines += ["", f"| depth | top-K | learner | {head} |", "|---|---:|---|" + "---:|" * len(SHOWN)]
    for r in rows:
        for learner in ("ova", "dual"):
            cells = []
            for name, _ in SHOWN:
                m = r["metrics"].get(f"{name} / {learner}")
                cells.append("-" if m is None else f"{m['R@100']:.2f} ({m['P@5']:.2f})")
            lines.append(f"| {r['depth']} | {r['topk']} | {learner} | {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="folder of the runs and the tables")
    parser.add_argument("--depths", default="2,all", help="label depths (default 2,all)")
    parser.add_argument("--ks", default="10,20,50,200", help="exposure K values")
    parser.add_argument(
        "--methods",
        default=",".join(METHODS),
        help="training methods beside SKIM and the oracle (default: all; 'none' for SKIM only)",
    )
    args = parser.parse_args()

    from skim._io import write_json_atomic, write_text_atomic
    from skim.pipeline import check_config, run_pipeline

    out = Path(args.out)
    rows = []
    for depth in args.depths.split(","):
        depth_value: int | str = int(depth) if depth.isdigit() else depth
        for k in (int(k) for k in args.ks.split(",")):
            run = out / f"depth-{depth}-topk-{k}"
            start = time.perf_counter()
            config = check_config(
                regime_config(run, depth_value, k, args.methods.split(",")), "regime sweep"
            )
            run_pipeline(config, log=lambda line: print(line, flush=True))
            results = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
            metrics = {
                f"{r['method']} / {r['learner']}": {
                    key: round(100 * r["metrics"]["unbiased"][key], 2) for key in ("R@100", "P@5")
                }
                for r in results
            }
            rows.append(
                {
                    "depth": depth_value,
                    "topk": k,
                    "stats": regime_stats(run),
                    "guard": guard_summary(run),
                    "metrics": metrics,
                    "seconds": round(time.perf_counter() - start, 1),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
            write_json_atomic(out / "regimes.json", rows)
            write_text_atomic(out / "regimes.md", markdown(rows))


if __name__ == "__main__":
    main()
