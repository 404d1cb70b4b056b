"""LoRA on the pretrained student: skim's default (r 16, peft's modules) against the authors'.

Usage::

    python benchmarks/student_lora.py DEMOS --base gemma3-270m --steps 3 --batch-size 8

The authors fine-tune with r 8 on attention, MLP and head (their sample command; their script's
own defaults are r 8 on query and value only). For each LoRA configuration: the modules it
adapts, its trainable parameters, and the CPU seconds of this process per training step (the
completion-only loss, float32, one thread) on the first demonstrations. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from skim.distill.demos import load_demonstrations
from skim.distill.model import load_base
from skim.distill.train import _add_lora, _collate, _tokenize, completion_loss

CONFIGS = {
    "skim: r 16, peft's default modules": (16, None),
    "authors: r 8, attention + MLP (all linear layers)": (8, "all-linear"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("demos")
    parser.add_argument("--base", default="gemma3-270m")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(1)
    demos = load_demonstrations(args.demos)[: args.steps * args.batch_size]
    result = {}
    for name, (r, modules) in CONFIGS.items():
        model, tok = load_base(args.base, device="cpu", dtype=torch.float32)
        model = _add_lora(model, r, 2 * r, modules, 0)
        rows = _tokenize(tok, [d.prompt() for d in demos], [d.completion() for d in demos], 512)
        trainable = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(trainable, lr=2e-4)
        model.train()
        cpu = time.process_time()
        for start in range(0, len(rows), args.batch_size):
            batch = [
                {"input_ids": x, "labels": y} for x, y in rows[start : start + args.batch_size]
            ]
            ids, mask, labels = _collate(batch, tok.pad_token_id).values()
            completion_loss(model, ids, mask, labels).backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
        adapted = sorted(
            {
                n.split(".lora_A")[0].rsplit(".", 1)[-1]
                for n, _ in model.named_parameters()
                if "lora_A" in n
            }
        )
        result[name] = {
            "modules": adapted,
            "trainable_parameters": sum(p.numel() for p in trainable),
            "cpu_seconds_per_step": round((time.process_time() - cpu) / args.steps, 2),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
