"""CPU speed of distillation on transformers' Trainer against the hand-written loop it replaced.

Usage::

    python benchmarks/distill_trainer.py --old-rev 3fd6c21 --steps 30 --repeats 3

Both run the same job in this process: the same demonstrations (synthetic: a 40-word
metadata and 5 target phrases per item, so prompts are longer than completions as in the real
data), the same steps and batch size, on one torch thread. Two students: from scratch (the
default tiny Llama, 256 wide, 4 layers, vocabulary 4000) and LoRA r 16 on a "pretrained" base
(that tiny Llama saved to a folder). The old loop is ``src/skim/distill/train.py`` at
``--old-rev``, loaded from git. The runs alternate (old, new, old, new, ...) so a change in the
shared machine's load hits both, and each repeat swaps which goes first; the ratio of the
medians of wall seconds and of CPU seconds of this process (``time.process_time``, which other
jobs on the machine change far less) is the result. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from skim.distill import Demonstration, distill
from skim.distill.model import scratch_model, train_tokenizer

DIRECTION = "queries-to-labels"


def old_module(rev: str):
    """The distill module as it was at ``rev``."""
    source = subprocess.run(
        ["git", "show", f"{rev}:src/skim/distill/train.py"], capture_output=True, text=True,
        check=True,
    ).stdout  # fmt: skip
    import skim.distill.model
    from skim.devices import resolve_device

    # the old loop imported default_device, which resolve_device replaced
    skim.distill.model.default_device = getattr(
        skim.distill.model, "default_device", lambda: resolve_device(None)
    )
    path = Path(tempfile.mkdtemp()) / "old_train.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("old_train", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def demonstrations(n: int, seed: int = 0) -> list[Demonstration]:
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(3000)]

    def phrase(k: int) -> str:
        return " ".join(rng.choice(words, k))

    targets = 5
    return [
        Demonstration(phrase(3), phrase(40), tuple(phrase(3) for _ in range(targets)), DIRECTION)
        for _ in range(n)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--old-rev", default="3fd6c21")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    old = old_module(args.old_rev)
    demos = demonstrations(args.steps * args.batch_size // 2)
    work = Path(tempfile.mkdtemp(prefix="skim-bench-distill-"))
    texts = [d.prompt() + d.completion() for d in demos]
    tokenizer = train_tokenizer(texts, 4000)
    base = work / "base"
    scratch_model(tokenizer, 256, 4, 256).save_pretrained(base)
    tokenizer.save_pretrained(base)
    jobs = {
        "scratch": {"from_scratch": True},
        "lora": {"base": str(base), "lora_r": 16},
    }
    common = {
        "max_steps": args.steps,
        "batch_size": args.batch_size,
        "checkpoint_every": 10_000,
        "show_progress": False,
        "precision": "fp32",
        "device": "cpu",
    }
    seconds: dict[str, dict[str, list[float]]] = {job: {"old": [], "new": []} for job in jobs}
    cpu: dict[str, dict[str, list[float]]] = {job: {"old": [], "new": []} for job in jobs}
    losses: dict[str, dict[str, float]] = {job: {} for job in jobs}
    for repeat in range(args.repeats):
        for job, kind in jobs.items():
            runs = [("old", old.distill), ("new", distill)]
            for name, run in runs if repeat % 2 == 0 else runs[::-1]:
                out = work / f"{job}-{name}-{repeat}"
                started, cpu_started = time.perf_counter(), time.process_time()
                run(demos, out, **kind, **common)
                seconds[job][name].append(time.perf_counter() - started)
                cpu[job][name].append(time.process_time() - cpu_started)
                manifest = json.loads((out / "skim_distill.json").read_text())
                losses[job][name] = manifest["final_loss"]
    result = {
        "steps": args.steps,
        "batch_size": args.batch_size,
        "demonstrations": len(demos),
        "threads": torch.get_num_threads(),
        "load": os.getloadavg(),
    }
    for job in jobs:
        old_s, new_s = (statistics.median(seconds[job][k]) for k in ("old", "new"))
        old_c, new_c = (statistics.median(cpu[job][k]) for k in ("old", "new"))
        result[job] = {
            "old_seconds": [round(s, 2) for s in seconds[job]["old"]],
            "new_seconds": [round(s, 2) for s in seconds[job]["new"]],
            "old_cpu_seconds": [round(s, 2) for s in cpu[job]["old"]],
            "new_cpu_seconds": [round(s, 2) for s in cpu[job]["new"]],
            "new_over_old": round(new_s / old_s, 3),
            "new_over_old_cpu": round(new_c / old_c, 3),
            "final_loss": losses[job],
        }
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
