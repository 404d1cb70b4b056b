"""LoRA on the pretrained student: held-out quality of skim's default adapter against others.

Usage::

    python benchmarks/student_lora_quality.py DEMOS DATASET --base gemma3-270m --steps 30 \\
        --held-out 64 --gen-items 32 --work /tmp/lora-quality --out results.json

The demonstrations are split by record with a fixed seed: ``--held-out`` records are never
trained on. Each LoRA configuration is distilled with :func:`skim.distill.distill` on the rest
(same seed, same ``--steps`` optimizer steps of ``--batch-size`` x ``--accumulation``
demonstrations, everything else skim's default), then measured on the held-out records:

- the completion-only loss per token (:func:`skim.distill.train.completion_loss`, summed over
  every held-out completion token and divided by their count), the base model's too;
- GT coverage@10 (:func:`skim.generate.coverage.evaluate_generation`) of the texts the student
  writes, greedily, for the first ``--gen-items`` held-out train queries (``--gen-items 0``:
  skipped).

Each row records CPU seconds of this process (all threads) and wall seconds per phase, with the
load average, and the held-out loss of every demonstration; at the end, each row's per-token
loss minus the default's, with a paired 95% bootstrap interval over the held-out
demonstrations, is printed and stored. Results go to ``--out`` after every row; a rerun skips
the rows already there (and :func:`distill` reuses a finished adapter).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from skim.data import load_dataset
from skim.distill import distill, load_demonstrations
from skim.distill.train import _collate, _tokenize, completion_loss
from skim.generate.base import make_items
from skim.generate.coverage import evaluate_generation
from skim.generate.run import make_generator
from skim.teach.store import read_demonstrations

DIRECTION = "queries-to-labels"
# name: (lora_r, target_modules); lora_alpha stays skim's default, 2 * r
CONFIGS = {
    "default: r 8, all linear": (8, "all-linear"),
    "former default: r 16, peft's modules (q, v)": (16, None),
    "r 8, q_proj + v_proj": (8, ["q_proj", "v_proj"]),
}


def split(n: int, held_out: int, seed: int) -> tuple[list[int], list[int]]:
    """(train, held-out) record positions: a fixed random permutation, disjoint."""
    order = np.random.default_rng(seed).permutation(n)
    return sorted(order[held_out:].tolist()), sorted(order[:held_out].tolist())


def held_out_losses(model, tokenizer, demos, batch: int = 8) -> tuple[list[float], list[int]]:
    """Summed completion-only cross-entropy and completion tokens of each of ``demos``."""
    import torch

    rows = _tokenize(tokenizer, [d.prompt() for d in demos], [d.completion() for d in demos], 512)
    order = sorted(range(len(rows)), key=lambda i: len(rows[i][0]))
    sums, counts = [0.0] * len(rows), [0] * len(rows)
    with torch.no_grad():
        for start in range(0, len(order), batch):
            idx = order[start : start + batch]
            chunk = [{"input_ids": rows[i][0], "labels": rows[i][1]} for i in idx]
            ids, mask, labels = _collate(chunk, tokenizer.pad_token_id).values()
            per_token = completion_loss(model, ids, mask, labels, reduction="none")
            sizes = (labels[:, 1:] != -100).sum(1).tolist()  # row-major, as the loss keeps them
            for i, part, n in zip(idx, per_token.split(sizes), sizes, strict=True):
                sums[i], counts[i] = float(part.sum()), n
    return sums, counts


def measure_loss(gen, demos) -> dict:
    """Per-token held-out loss of the generator's model, with the per-demonstration parts."""
    cpu, wall = time.process_time(), time.time()
    sums, counts = held_out_losses(gen.model, gen.tokenizer, demos)
    return {"held_out_loss": round(sum(sums) / sum(counts), 4), "held_out_tokens": sum(counts),
            "precision": gen.settings["precision"],
            "eval_loss_cpu_s": round(time.process_time() - cpu, 1),
            "eval_loss_wall_s": round(time.time() - wall, 1),
            "loss_sums": [round(x, 4) for x in sums], "loss_tokens": counts}  # fmt: skip


def measure(dataset, base: str, adapter: str | None, demos, sources, args, generate=True):
    """Held-out loss and GT coverage@10 of one student (the base when ``adapter`` is None)."""
    gen = make_generator(
        "hf", dataset, DIRECTION, model=base, adapter=adapter, num_return=1,
        temperature=0.0, batch_size=16, device="cpu",
    )  # fmt: skip
    out = measure_loss(gen, demos)
    if args.gen_items and generate:
        cpu, wall = time.process_time(), time.time()
        items = make_items(dataset, DIRECTION, sources[: args.gen_items], False)
        texts = gen.generate(items)
        synthetic = {it.source: t for it, t in zip(items, texts, strict=True)}
        cov = evaluate_generation(dataset, synthetic, DIRECTION, k=10)
        out.update(
            gt_coverage_at_10=round(cov["coverage@10"], 4),
            missing_coverage_at_10=round(cov.get("missing_coverage@10", float("nan")), 4),
            gen_items=cov["items"],
            texts_per_item=cov["texts_per_item"],
            generated_tokens=gen.generated_tokens,
            generate_cpu_s=round(time.process_time() - cpu, 1),
            generate_wall_s=round(time.time() - wall, 1),
            texts={str(k): v for k, v in synthetic.items()},
        )
    return out


def paired(results: dict, reference: str, seed: int = 0, draws: int = 2000) -> dict:
    """Per-token loss of each row minus ``reference``'s, with a 95% bootstrap interval over the
    held-out demonstrations (resampled together: the comparison is paired)."""
    rng = np.random.default_rng(seed)
    ref_s, ref_n = (np.array(results[reference][k]) for k in ("loss_sums", "loss_tokens"))
    picks = rng.integers(0, len(ref_s), (draws, len(ref_s)))
    out = {}
    for name, row in results.items():
        if name in (reference, "setup") or "loss_sums" not in row:
            continue
        s, n = np.array(row["loss_sums"]), np.array(row["loss_tokens"])
        diff = s[picks].sum(1) / n[picks].sum(1) - ref_s[picks].sum(1) / ref_n[picks].sum(1)
        point = s.sum() / n.sum() - ref_s.sum() / ref_n.sum()
        out[name] = [round(float(point), 4), *np.percentile(diff, [2.5, 97.5]).round(4).tolist()]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("demos")
    parser.add_argument("dataset")
    parser.add_argument("--base", default="gemma3-270m")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--accumulation", type=int, default=4)
    parser.add_argument("--held-out", type=int, default=64)
    parser.add_argument("--gen-items", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--configs", nargs="*", type=int, help="indices into CONFIGS (all)")
    parser.add_argument("--work", default="/tmp/lora-quality")
    parser.add_argument("--out", default="/tmp/lora-quality/results.json")
    args = parser.parse_args()

    demos = load_demonstrations(args.demos)
    sources = [int(r["source"]) for r in read_demonstrations(Path(args.demos), ("source",))]
    if len(sources) != len(demos):
        raise SystemExit("a record without texts: the split by record would be misaligned")
    train_at, held_at = split(len(demos), args.held_out, args.seed)
    train = [demos[i] for i in train_at]
    held = [demos[i] for i in held_at]
    held_sources = [sources[i] for i in held_at]
    assert not {sources[i] for i in train_at} & set(held_sources), "train and held-out overlap"
    dataset = load_dataset(args.dataset)
    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    results = json.loads(out_path.read_text()) if out_path.is_file() else {}
    results["setup"] = {"train": len(train), "held_out": len(held), "steps": args.steps,
                        "examples_per_step": args.batch_size * args.accumulation,
                        "seed": args.seed, "base": args.base}  # fmt: skip

    def record(name: str, row: dict) -> None:
        results[name] = row
        out_path.write_text(json.dumps(results, indent=2, ensure_ascii=False))
        print(name, json.dumps(row, ensure_ascii=False), flush=True)

    if "base (no training)" not in results:
        load = os.getloadavg()[0]
        record("base (no training)", {**measure(dataset, args.base, None, held, held_sources,
                                                args), "load": round(load, 2)})  # fmt: skip
    folders = {"base (no training)": None}
    folders.update({name: Path(args.work) / f"config-{n}" for n, name in enumerate(CONFIGS)})
    for name, folder in folders.items():  # rows from before the per-demonstration losses
        if name in results and "loss_sums" not in results[name]:
            adapter = str(folder) if folder else None
            row = measure(dataset, args.base, adapter, held, held_sources, args, False)
            record(name, {**results[name], **row})
    for number, (name, (r, modules)) in enumerate(CONFIGS.items()):
        if name in results or (args.configs is not None and number not in args.configs):
            continue
        load = os.getloadavg()[0]
        cpu, wall = time.process_time(), time.time()
        folder = distill(
            train, folders[name],
            base=args.base, lora_r=r, target_modules=modules, max_steps=args.steps,
            batch_size=args.batch_size, gradient_accumulation=args.accumulation,
            seed=args.seed, show_progress=False,
        )  # fmt: skip
        manifest = json.loads((folder / "skim_distill.json").read_text())
        row = {"lora_r": r, "target_modules": modules,
               "trainable_parameters": manifest["trainable_parameters"],
               "train_first_loss": manifest["first_loss"],
               "train_final_loss": manifest["final_loss"],
               "train_cpu_s": round(time.process_time() - cpu, 1),
               "train_wall_s": round(time.time() - wall, 1)}  # fmt: skip
        row.update(measure(dataset, args.base, str(folder), held, held_sources, args))
        row["load_start"], row["load_end"] = round(load, 2), round(os.getloadavg()[0], 2)
        record(name, row)
    deltas = paired(results, next(iter(CONFIGS)))
    results["loss_minus_default_95ci"] = deltas
    out_path.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print("held-out loss minus the default's [point, 2.5%, 97.5%]:", json.dumps(deltas))


if __name__ == "__main__":
    main()
