"""SKIM's precision levers, one row each: new pairs' precision, recovery, and the learners' gain.

    python benchmarks/levers.py --data DATASET --work WORK [--rows NAME,...] [--list]

WORK holds the gold-teacher seed matrices ``demos-q2l-{F}.seed.npz`` (+ ``.manifest.json``,
whose ``seed_items`` are the known rows) for F in 0.02, 0.05, 0.10, and the synthetic texts
named in ``ROWS`` (``ext-q2l.jsonl``, ``ext-l2q.jsonl``: ``skim generate --generator
extractive --num-return 5``; ``gemma-*.jsonl`` from the Gemma 3 270M LoRA student, rows skipped
when absent). For every row the script maps the texts with ``skim.map.map_synthetic`` and the
row's levers, scores the new pairs (those not in observed + seed) against the complete train
labels: precision, and the share of the missing train pairs they recover (on the items the
generator covers when it covers only some), then trains the one-vs-all and the dual learner on
the result and reports unbiased R@100 and its gain over the same learner on observed + seed.
The seed-trained dual model (observed + seed of the row's fraction) is the ``dual`` mapping
encoder and the ``agree`` learner. Results are appended to WORK/levers.json (rerun = resume).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from skim.data import load_dataset, load_matrix
from skim.evaluate import evaluate_predictions
from skim.learners import predict, train
from skim.map import map_synthetic
from skim.map.tau import TauUnreachable
from skim.pairs import contains, pair_keys

EPOCHS = {"ova": 3, "dual": 3}  # ova 3: 73.08 on observed + seed (issue 11), 2 gives 61.00
EXT = "ext-q2l.jsonl"
Q2L, L2Q = "queries-to-labels", "labels-to-queries"


GEMMA_LEVERS = (  # the demo's levers without the guard, the mapping, the guard
    ("votes >= 3, agree ova top-20, tau 0.5", dict(min_votes=3, agree="ova", tau=0.5)),
    ("MiniLM top-1 tau 0.9", dict(encoder=None, topk=1, tau=0.9)),
    ("guard 0.2", dict(target_precision=0.2)),
)


def row(name: str, **levers) -> dict:
    base = dict(
        seed=0.05, synthetic=EXT, direction=Q2L, encoder="dual", topk=10, tau="auto",
        target_precision=0.3, min_votes=1, agree=None, agree_topk=20, calibrated=False,
        learner_seed=0,
    )  # fmt: skip  # the demo's mapping before this study
    return {"name": name, **base, **levers}


ROWS = [
    # the guard's target precision (dual encoder, top-10, tau auto: the demo's mapping)
    row("guard 0.3 (demo's mapping before)"),
    row("guard 0.1", target_precision=0.1),
    row("guard 0.2", target_precision=0.2),
    row("guard 0.5", target_precision=0.5),
    # no guard: the measurement (MiniLM, top-1, tau 0.9)
    row("no guard: MiniLM top-1 tau 0.9", encoder=None, topk=1, tau=0.9),
    # the mapping encoder
    row("MiniLM encoder, guard 0.2", encoder=None, target_precision=0.2),
    row("MiniLM top-1, guard 0.2", encoder=None, topk=1, target_precision=0.2),
    # agreement of texts (>= 2 of the item's texts propose the pair)
    row("votes >= 2, guard 0.2", min_votes=2, target_precision=0.2),
    row("votes >= 3, guard 0.2", min_votes=3, target_precision=0.2),
    # agreement with the seed-trained learner
    row("agree dual top-20, guard 0.2", agree="dual", target_precision=0.2),
    row("agree dual top-5, guard 0.2", agree="dual", agree_topk=5, target_precision=0.2),
    row("agree ova top-20, guard 0.2", agree="ova", target_precision=0.2),
    # calibrated soft labels
    row("calibrated, guard 0.1", calibrated=True, target_precision=0.1),
    row("calibrated, no guard (tau 0.5)", calibrated=True, tau=0.5),
    row(
        "agree dual top-20, calibrated, guard 0.1",
        agree="dual",
        calibrated=True,
        target_precision=0.1,
    ),
    # the labels-to-queries direction (extractive queries for each label)
    row(
        "labels-to-queries, guard 0.2",
        synthetic="ext-l2q.jsonl",
        direction=L2Q,
        target_precision=0.2,
    ),
    row(
        "labels-to-queries, calibrated, guard 0.1",
        synthetic="ext-l2q.jsonl",
        direction=L2Q,
        calibrated=True,
        target_precision=0.1,
    ),
    # teacher budget
    row("seed 2%, guard 0.2", seed=0.02, target_precision=0.2),
    row("seed 10%, guard 0.2", seed=0.10, target_precision=0.2),
    # agreement of 3 and more texts, and with 10 texts per item
    row("votes >= 4, guard 0.2", min_votes=4, target_precision=0.2),
    row("votes >= 3, guard 0.3", min_votes=3, target_precision=0.3),
    row("votes >= 3, calibrated, guard 0.2", min_votes=3, calibrated=True, target_precision=0.2),
    row("votes >= 3, agree ova top-20, guard 0.2", min_votes=3, agree="ova", target_precision=0.2),
    row("votes >= 3, MiniLM encoder, guard 0.2", min_votes=3, encoder=None, target_precision=0.2),
    row("votes >= 3, seed 2%, guard 0.2", min_votes=3, seed=0.02, target_precision=0.2),
    row("votes >= 3, seed 10%, guard 0.2", min_votes=3, seed=0.10, target_precision=0.2),
    row(
        "10 texts, votes >= 3, guard 0.2",
        synthetic="ext-q2l-10.jsonl",
        min_votes=3,
        target_precision=0.2,
    ),
    row(
        "10 texts, votes >= 4, guard 0.2",
        synthetic="ext-q2l-10.jsonl",
        min_votes=4,
        target_precision=0.2,
    ),
    row(
        "10 texts, votes >= 5, guard 0.2",
        synthetic="ext-q2l-10.jsonl",
        min_votes=5,
        target_precision=0.2,
    ),
    row(
        "votes >= 3, guard 0.2 (learner seed 1)", min_votes=3, target_precision=0.2, learner_seed=1
    ),
    row(
        "votes >= 3, guard 0.2 (learner seed 2)", min_votes=3, target_precision=0.2, learner_seed=2
    ),
    # combinations with the best single lever (votes >= 2)
    row("votes >= 2, guard 0.1", min_votes=2, target_precision=0.1),
    row("votes >= 2, guard 0.3", min_votes=2, target_precision=0.3),
    row("votes >= 2, calibrated, guard 0.2", min_votes=2, calibrated=True, target_precision=0.2),
    row(
        "votes >= 2, agree dual top-20, guard 0.2", min_votes=2, agree="dual", target_precision=0.2
    ),
    row("votes >= 2, MiniLM encoder, guard 0.2", min_votes=2, encoder=None, target_precision=0.2),
    row(
        "votes >= 2, labels-to-queries, guard 0.2",
        min_votes=2,
        synthetic="ext-l2q.jsonl",
        direction=L2Q,
        target_precision=0.2,
    ),
    row("votes >= 2, seed 2%, guard 0.2", min_votes=2, seed=0.02, target_precision=0.2),
    row("votes >= 2, seed 10%, guard 0.2", min_votes=2, seed=0.10, target_precision=0.2),
    # the same fits with other learner seeds (the baseline refitted with that seed too)
    row(
        "votes >= 2, guard 0.2 (learner seed 1)", min_votes=2, target_precision=0.2, learner_seed=1
    ),
    row(
        "votes >= 2, guard 0.2 (learner seed 2)", min_votes=2, target_precision=0.2, learner_seed=2
    ),
    # the best pair (10 texts, >= 5 agree): more votes, other learner seeds, more epochs
    row(
        "10 texts, votes >= 6, guard 0.2",
        synthetic="ext-q2l-10.jsonl",
        min_votes=6,
        target_precision=0.2,
    ),
    row(
        "10 texts, votes >= 5, guard 0.2 (learner seed 1)",
        synthetic="ext-q2l-10.jsonl",
        min_votes=5,
        target_precision=0.2,
        learner_seed=1,
    ),
    row(
        "10 texts, votes >= 5, guard 0.2 (learner seed 2)",
        synthetic="ext-q2l-10.jsonl",
        min_votes=5,
        target_precision=0.2,
        learner_seed=2,
    ),
    row(
        "10 texts, votes >= 5, guard 0.2 (ova 5, dual 8 epochs)",
        synthetic="ext-q2l-10.jsonl",
        min_votes=5,
        target_precision=0.2,
        epochs={"ova": 5, "dual": 8},
    ),
    # under-trained learners? the same labels with more epochs (baselines refitted too)
    row(
        "votes >= 3, agree ova top-20, guard 0.2 (ova 5, dual 8 epochs)",
        min_votes=3,
        agree="ova",
        target_precision=0.2,
        epochs={"ova": 5, "dual": 8},
    ),
    row(
        "votes >= 3, guard 0.2 (ova 5, dual 8 epochs)",
        min_votes=3,
        target_precision=0.2,
        epochs={"ova": 5, "dual": 8},
    ),
    row("guard 0.1 (ova 5, dual 8 epochs)", target_precision=0.1, epochs={"ova": 5, "dual": 8}),
    # the pretrained student (Gemma 3 270M + LoRA), when its generations exist
    # ... its shards so far (gemma-q2l-partial.jsonl, 10 sampled texts per item) against the
    # extractive texts of the same items (ext-q2l-10-gemma-items.jsonl)
    row("Gemma q2l so far, guard 0.2", synthetic="gemma-q2l-partial.jsonl", target_precision=0.2),
    row(
        "Gemma q2l so far, votes >= 3, agree ova top-20, guard 0.3",
        synthetic="gemma-q2l-partial.jsonl",
        min_votes=3,
        agree="ova",
    ),
    row(
        "Gemma q2l so far, votes >= 5, guard 0.2",
        synthetic="gemma-q2l-partial.jsonl",
        min_votes=5,
        target_precision=0.2,
    ),
    row(
        "Gemma q2l so far, votes >= 3, agree ova top-20, tau 0.5 (no guard)",
        synthetic="gemma-q2l-partial.jsonl",
        min_votes=3,
        agree="ova",
        tau=0.5,
    ),
    row(
        "extractive 10 texts, Gemma's items, votes >= 3, agree ova top-20, tau 0.5 (no guard)",
        synthetic="ext-q2l-10-gemma-items.jsonl",
        min_votes=3,
        agree="ova",
        tau=0.5,
    ),
    row(
        "Gemma q2l so far, MiniLM top-1 tau 0.9",
        synthetic="gemma-q2l-partial.jsonl",
        encoder=None,
        topk=1,
        tau=0.9,
    ),
    row(
        "extractive 10 texts, Gemma's items, votes >= 3, agree ova top-20, guard 0.3",
        synthetic="ext-q2l-10-gemma-items.jsonl",
        min_votes=3,
        agree="ova",
    ),
    row(
        "extractive 10 texts, Gemma's items, votes >= 5, guard 0.2",
        synthetic="ext-q2l-10-gemma-items.jsonl",
        min_votes=5,
        target_precision=0.2,
    ),
    row("Gemma q2l, guard 0.2", synthetic="gemma-q2l.jsonl", target_precision=0.2),
    row(
        "Gemma q2l, MiniLM top-1 tau 0.9",
        synthetic="gemma-q2l.jsonl",
        encoder=None,
        topk=1,
        tau=0.9,
    ),
    row(
        "Gemma q2l, votes >= 2, guard 0.2",
        synthetic="gemma-q2l.jsonl",
        min_votes=2,
        target_precision=0.2,
    ),
    row("Gemma l2q, guard 0.2", synthetic="gemma-l2q.jsonl", direction=L2Q, target_precision=0.2),
    # the student's free and label-constrained decoding against the extractive texts, on the
    # same first N train queries (files cut to those items with the ext-q2l-10.jsonl records)
    *[
        row(f"{texts}, {n} items, {lever}", synthetic=file, **levers)
        for n, generators in (
            (
                1000,
                (
                    ("Gemma free", "gemma-q2l-first1000.jsonl"),
                    ("Gemma constrained", "gemma-q2l-constrained-first1000.jsonl"),
                    ("extractive 10 texts", "ext-q2l-10-first1000.jsonl"),
                ),
            ),
            (
                1500,
                (
                    ("Gemma constrained", "gemma-q2l-constrained-first1500.jsonl"),
                    ("extractive 10 texts", "ext-q2l-10-first1500.jsonl"),
                ),
            ),
        )
        for lever, levers in GEMMA_LEVERS
        for texts, file in generators
    ],
]


def seed_paths(work: Path, fraction: float) -> tuple[Path, list[int]]:
    stem = f"demos-q2l-{fraction:.2f}"
    manifest = json.loads((work / f"{stem}.manifest.json").read_text())
    return work / f"{stem}.seed.npz", manifest["seed_items"]


def fit_and_score(
    dataset, labels, model_dir: Path, learner: str, seed: int = 0, epochs: int | None = None
) -> float:
    if not (model_dir / "skim_model.json").exists():
        epochs = epochs or EPOCHS[learner]
        train(dataset, model_dir, learner=learner, labels=labels, epochs=epochs,
              seed=seed, show_progress=False)  # fmt: skip
    scores = predict(dataset, model_dir, k=100, show_progress=False)
    return 100 * evaluate_predictions(dataset, scores, k=(100,))["unbiased"]["R@100"]


def covered(path: Path, direction: str, shape: tuple[int, int]) -> np.ndarray | None:
    """Boolean mask of the pairs whose source item the file covers (None: every item)."""
    sources = sorted({json.loads(line)["source"] for line in path.open() if line.strip()})
    axis = 0 if direction == Q2L else 1
    if len(sources) == shape[axis]:
        return None
    mask = np.zeros(shape[axis], bool)
    mask[sources] = True
    return mask


def quality(result, base, truth, mask, direction) -> dict:
    """New pairs, their precision and the share of missing pairs they recover."""
    n_cols = base.shape[1]
    new = pair_keys(result)
    new = new[~contains(pair_keys(base), new)]
    missing = pair_keys(truth)
    missing = missing[~contains(pair_keys(base), missing)]
    if mask is not None:

        def on(keys):
            return mask[keys // n_cols] if direction == Q2L else mask[keys % n_cols]

        new, missing = new[on(new)], missing[on(missing)]
    right = int(contains(missing, new).sum())
    return {
        "new_pairs": int(len(new)),
        "precision": right / len(new) if len(new) else None,
        "recovered": right / len(missing) if len(missing) else None,
    }


def run_row(spec: dict, dataset, work: Path, truth) -> dict | None:
    synthetic = work / spec["synthetic"]
    if not synthetic.exists():
        print(f"skip {spec['name']}: {synthetic} not there")
        return None
    base_path, seed_rows = seed_paths(work, spec["seed"])
    base = load_matrix(base_path)
    models = work / "models"
    baseline = {}
    seed = spec["learner_seed"]  # the mapping always uses the seed-0, default-epoch models
    epochs = {**EPOCHS, **spec.get("epochs", {})}
    for learner in EPOCHS:
        suffix = f"-s{seed}" if seed else ""
        suffix += f"-e{epochs[learner]}" if epochs[learner] != EPOCHS[learner] else ""
        if suffix:  # the mapping's models (seed 0, default epochs) are needed too
            fit_and_score(dataset, base, models / f"base-{spec['seed']:.2f}-{learner}", learner)
        baseline[learner] = fit_and_score(
            dataset, base, models / f"base-{spec['seed']:.2f}-{learner}{suffix}", learner, seed,
            epochs[learner],
        )  # fmt: skip

    def seed_model(kind):
        return str(models / f"base-{spec['seed']:.2f}-{kind}") if kind else None

    started = time.perf_counter()
    try:
        result, manifest = map_synthetic(
            dataset, synthetic, spec["direction"], observed=base,
            encoder=seed_model(spec["encoder"]), topk=spec["topk"], tau=spec["tau"],
            target_precision=spec["target_precision"] if spec["tau"] == "auto" else None,
            known=base, known_rows=seed_rows, min_votes=spec["min_votes"],
            agree_with=seed_model(spec["agree"]), agree_topk=spec["agree_topk"],
            calibrated=spec["calibrated"],
        )  # fmt: skip
        tau, estimate = manifest["settings"]["tau"], manifest["tau_estimate"]
        note = ""
    except TauUnreachable as exc:
        result, tau, estimate, note = base, None, None, str(exc)
    map_s = time.perf_counter() - started
    mask = covered(synthetic, spec["direction"], base.shape)
    out = {**spec, "tau_chosen": tau, "map_s": round(map_s, 1), "note": note,
           "seed_estimate": estimate and {k: estimate.get(k) for k in ("precision", "recovered")},
           **quality(result, base, truth, mask, spec["direction"]),
           "covered_items": None if mask is None else int(mask.sum()),
           "mean_new_value": None}  # fmt: skip
    new = result - result.multiply(base > 0)
    if new.nnz:
        out["mean_new_value"] = float(sp.csr_matrix(new).data.mean())
    for learner in EPOCHS:
        if result is base:
            r100 = baseline[learner]
        else:
            with_tmp = models / "tmp"
            import shutil

            shutil.rmtree(with_tmp, ignore_errors=True)
            r100 = fit_and_score(dataset, result, with_tmp, learner, seed, epochs[learner])
        out[learner] = round(r100, 2)
        out[f"{learner}_gain"] = round(r100 - baseline[learner], 2)
        out[f"{learner}_base"] = round(baseline[learner], 2)
    return out


def fmt(value, digits=1, pct=True):
    if value is None:
        return "-"
    return f"{100 * value:.{digits}f}%" if pct else f"{value:.{digits}f}"


def markdown(results: list[dict]) -> str:
    lines = [
        "| lever | tau | new pairs | precise (seed rows' estimate) | missing recovered "
        "| mean value | observed + seed ova / dual | ova R@100 (gain) | dual R@100 (gain) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        name = r["name"] + (f" [{r['covered_items']} items]" if r["covered_items"] else "")
        tau = "none reached" if r["tau_chosen"] is None else f"{r['tau_chosen']:g}"
        est = fmt((r["seed_estimate"] or {}).get("precision"))
        lines.append(
            f"| {name} | {tau} | {r['new_pairs']:,} | {fmt(r['precision'])} ({est}) | "
            f"{fmt(r['recovered'])} | {fmt(r['mean_new_value'], 2, pct=False)} | "
            f"{r['ova_base']:.2f} / {r['dual_base']:.2f} | "
            f"{r['ova']:.2f} ({r['ova_gain']:+.2f}) | "
            f"{r['dual']:.2f} ({r['dual_gain']:+.2f}) |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--rows", help="row names separated by ; (default all)")
    parser.add_argument("--list", action="store_true", help="print the table of done rows")
    parser.add_argument(
        "--learner-seed", type=int, help="fit the learners with this seed (name suffixed)"
    )
    parser.add_argument(
        "--seed-fraction", type=float, help="use this seed for the rows that use 5%% (e.g. 0.02)"
    )
    args = parser.parse_args()
    store = args.work / "levers.json"
    done = json.loads(store.read_text()) if store.exists() else []
    if args.list:
        print(markdown(done))
        return
    dataset = load_dataset(args.data)
    truth = dataset.trn_X_Y_unbiased
    wanted = set(args.rows.split(";")) if args.rows else None
    for spec in ROWS:
        if wanted and spec["name"] not in wanted:
            continue
        if args.seed_fraction and spec["seed"] == 0.05:
            spec = {**spec, "seed": args.seed_fraction}
        if args.learner_seed and not spec["learner_seed"]:
            name = f"{spec['name']} (learner seed {args.learner_seed})"
            spec = {**spec, "name": name, "learner_seed": args.learner_seed}
        if any(d["name"] == spec["name"] for d in done):
            continue
        t0 = time.perf_counter()
        out = run_row(spec, dataset, args.work, truth)
        if out is None:
            continue
        out["seconds"] = round(time.perf_counter() - t0, 1)
        done.append(out)
        store.write_text(json.dumps(done, indent=1))
        print(markdown([out]).splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
