"""Throughput and GT coverage@k of each generator on a dataset (e.g. a WordNet subset).

Usage::

    python benchmarks/generate.py DATASET --items 1000 --seed-fraction 0.02 --steps 300

Generators compared, queries-to-labels, on the same held-out train queries (not in the seed):

- ``item-text``: the query's own text as its only synthetic text (what the encoder sees anyway);
- ``ngrams``: raw word 1-3-grams of the metadata (the naive baseline of FINDINGS.md);
- ``extractive`` with and without the observed partners' metadata;
- ``hf`` (with and without metadata): a tiny Llama distilled from scratch on gold demonstrations
  of a ``--seed-fraction`` of train queries plus observed pairs, decoded greedily.

Prints one JSON object and appends nothing: copy the numbers into RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from skim.data import load_dataset
from skim.distill import distill
from skim.distill.demos import observed_pairs
from skim.generate import evaluate_generation, generate
from skim.generate.base import Item


class ItemText:
    name, settings = "item-text", {}

    def generate(self, items: list[Item]) -> list[list[str]]:
        return [[it.text] for it in items]


class NGrams:
    name, settings = "ngrams", {"n": 3, "num_return": 10}

    def generate(self, items: list[Item]) -> list[list[str]]:
        out = []
        for it in items:
            words = re.findall(r"[\w'-]+", it.metadata.lower())
            grams = [" ".join(words[i : i + n]) for n in (1, 2, 3) for i in range(len(words))]
            out.append(list(dict.fromkeys(grams))[:10])
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset")
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--seed-fraction", type=float, default=0.02)
    parser.add_argument("--max-observed", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--hidden-size", type=int, default=256)
    parser.add_argument("--num-layers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--skip-hf", action="store_true")
    parser.add_argument("--skip-baselines", action="store_true")
    parser.add_argument("--hf-variants", default="hf,hf-no-metadata")
    parser.add_argument("--work", default=None, help="folder for models and outputs")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    ds = load_dataset(args.dataset)
    direction = "queries-to-labels"
    rng = np.random.default_rng(0)
    seed_rows = np.sort(rng.choice(ds.n_trn, max(1, int(args.seed_fraction * ds.n_trn)), False))
    rest = np.setdiff1d(np.arange(ds.n_trn), seed_rows)
    items = np.sort(rng.choice(rest, min(args.items, len(rest)), False)).tolist()
    work = Path(args.work or tempfile.mkdtemp(prefix="skim-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict = {
        "dataset": args.dataset,
        "n_trn": ds.n_trn,
        "n_labels": ds.n_labels,
        "items": len(items),
        "seed_rows": len(seed_rows),
    }

    def run(name: str, generator, **kw) -> None:
        out = work / f"{name}.jsonl"
        summary = generate(
            ds,
            out,
            direction,
            generator,
            items=items,
            overwrite=True,
            show_progress=False,
            shard_size=250,
            **kw,
        )
        row = {
            key: summary.get(key)
            for key in (
                "items_per_second",
                "tokens_per_second",
                "texts_per_item",
                "generate_seconds",
            )
        }
        for k in (10, 100):
            cov = evaluate_generation(ds, out, direction, k=k, cache_dir=work / "cache")
            row[f"coverage@{k}"] = round(cov[f"coverage@{k}"], 4)
            row[f"missing_coverage@{k}"] = round(cov[f"missing_coverage@{k}"], 4)
        results[name] = row
        print(name, json.dumps(row), flush=True)

    if not args.skip_baselines:
        run("item-text", ItemText())
        run("ngrams", NGrams())
        run("extractive", "extractive")
        run("extractive-no-partners", "extractive", use_partners=False)
    if not args.skip_hf:
        truth = ds.trn_X_Y_unbiased.tocsr()
        demos = work / "demos.jsonl"
        with open(demos, "w", encoding="utf-8") as handle:
            for i in seed_rows:
                record = {
                    "source": int(i),
                    "direction": direction,
                    "text": ds.trn_texts[i],
                    "metadata": ds.trn_meta[i],
                    "teacher": "gold",
                    "texts": [ds.label_texts[j] for j in truth[i].indices],
                }
                handle.write(json.dumps(record) + "\n")
        extra = observed_pairs(ds, direction, args.max_observed)
        for variant in args.hf_variants.split(","):
            no_meta = variant.endswith("no-metadata")
            tick = time.time()
            model = distill(
                demos,
                work / f"student-{variant}",
                from_scratch=True,
                max_steps=args.steps,
                extra_pairs=extra,
                no_metadata=no_meta,
                hidden_size=args.hidden_size,
                num_layers=args.num_layers,
                learning_rate=2e-3,
                show_progress=False,
            )
            results[f"{variant}-distill-seconds"] = round(time.time() - tick, 1)
            run(variant, "hf", model=str(model), temperature=0, max_new_tokens=32, batch_size=64)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
