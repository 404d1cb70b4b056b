"""CPU cost of the pretrained student (Gemma 3 270M): LoRA steps and generation, per variant.

Usage::

    python benchmarks/student.py DATASET DEMOS --base gemma3-270m --train-demos 32 --items 64

The machine is shared, so every time is also given relative to the machine's own matrix
multiply speed measured in the same run (float32 and bfloat16 GFLOP/s, same thread count),
and as CPU seconds of this process (``time.process_time``), which the other jobs on the
machine change far less than wall time. The targets of
issue 11 (10,000 items generated, 1,300 demonstrations x 2 epochs, each under 20 minutes on 2
idle cores) are extrapolated from the sample by scaling with the ratio of the idle machine's
matmul speed (``--idle-gflops``, measured on 2 idle threads) to the one measured here: an
extrapolation, labelled so.

Variants:

- training: transformers' loss over full-vocabulary logits at every position (float32), the
  completion-only loss (float32), the completion-only loss in bfloat16 (what ``auto`` picks on
  an AMX CPU); the mean loss of each is printed so they can be compared;
- generation, greedy: transformers' ``generate`` (float32, the old path), :func:`decode`
  float32, bfloat16, and bfloat16 with the dataset vocabulary; whether each gives the same
  tokens as its reference is printed (the vocabulary restriction is kept only if it does);
  then :func:`decode` bfloat16 sampling 3 completions per item (temperature 0.8, top-k 200,
  what ``skim generate --generator hf --num-return 3`` runs).

Prints one JSON object: copy the numbers into RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from skim.data import load_dataset
from skim.distill.demos import load_demonstrations
from skim.distill.model import load_base
from skim.distill.train import _add_lora, _collate, _tokenize, completion_loss
from skim.generate.base import make_items
from skim.generate.decode import Head, Sampling, dataset_vocabulary, decode
from skim.generate.registry import dataset_texts
from skim.generate.student import student_prompts, student_settings


def matmul_gflops(dtype: torch.dtype, seconds: float = 2.0) -> float:
    """This machine's matrix multiply speed now (a 512 x 640 by 640 x 8192 product)."""
    a, b = torch.randn(512, 640, dtype=dtype), torch.randn(640, 8192, dtype=dtype)
    a @ b
    done, start, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        a @ b
        done += 1
    flops = 2 * 512 * 640 * 8192 * done / 1e9
    return flops / (time.perf_counter() - start), flops / (time.process_time() - cpu)


def train_variant(base, demos, precision: str, loss: str, batch_size: int, steps: int):
    """Seconds per optimizer step and mean loss of ``steps`` LoRA steps."""
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    model, tok = load_base(base, device="cpu", dtype=dtype)
    model = _add_lora(model, 16, 32, None, 0)
    rows = _tokenize(tok, [d.prompt() for d in demos], [d.completion() for d in demos], 256)
    order = np.random.default_rng(0).permutation(len(rows)).tolist()
    order = sorted(order[: steps * batch_size], key=lambda i: len(rows[i][0]))  # little padding
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=2e-4)
    model.train()
    losses, start, cpu = [], time.perf_counter(), time.process_time()
    for batch in batches:
        rows_in = [{"input_ids": rows[i][0], "labels": rows[i][1]} for i in batch]
        ids, mask, labels = _collate(rows_in, tok.pad_token_id).values()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            if loss == "full":
                value = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            else:
                value = completion_loss(model, ids, mask, labels)
        value.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(float(value.detach()))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    n_rows = sum(len(b) for b in batches)
    return {"seconds_per_step": seconds / len(batches), "rows_per_second": n_rows / seconds,
            "cpu_seconds_per_row": cpu / n_rows,
            "mean_loss": float(np.mean(losses)), "steps": len(batches)}  # fmt: skip


def generate_variant(
    model, tok, prompts, way: str, new: int, batch_size: int, keep=None, num_return: int = 1
):
    """New token ids per prompt (greedy, or 0.8/top-200 samples) and the seconds it took."""
    bos = [tok.bos_token_id] if tok.bos_token_id is not None else []
    encoded = [bos + ids for ids in tok(prompts, add_special_tokens=False)["input_ids"]]
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
    ends = sorted({tok.eos_token_id, *np.atleast_1d(model.generation_config.eos_token_id or [])})
    out: list[list[int]] = [[] for _ in prompts]
    start, cpu = time.perf_counter(), time.process_time()
    head = Head(model, keep)
    for s in range(0, len(order), batch_size):
        idx = order[s : s + batch_size]
        if way == "generate":
            tok.padding_side = "left"
            batch = tok.pad({"input_ids": [encoded[i] for i in idx]}, return_tensors="pt")
            with torch.inference_mode():
                res = model.generate(
                    **batch, max_new_tokens=new, do_sample=False, top_p=None, top_k=None,
                    pad_token_id=tok.pad_token_id, eos_token_id=ends,
                )  # fmt: skip
            rows = res[:, batch["input_ids"].shape[1] :].tolist()
            rows = [[t for t in r if t not in ends and t != tok.pad_token_id] for r in rows]
        else:
            sampled = Sampling(0.8, 200, num_return) if num_return > 1 else Sampling()
            rows = decode(model, [encoded[i] for i in idx], new, ends, tok.pad_token_id,
                          sampled, head)  # fmt: skip
            rows = rows[::num_return]
        for i, row in zip(idx, rows, strict=True):
            out[i] = row
    return out, time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset")
    parser.add_argument("demos")
    parser.add_argument("--base", default="gemma3-270m")
    parser.add_argument("--adapter", help="LoRA folder for the generation runs (optional)")
    parser.add_argument("--train-demos", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--items", type=int, default=64)
    parser.add_argument("--gen-batch", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--idle-gflops-fp32", type=float, default=138.0)
    parser.add_argument("--idle-gflops-bf16", type=float, default=925.0)
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--skip-generate-fp32", action="store_true")
    parser.add_argument("--train-variants", default="full-fp32,completion-fp32,completion-bf16")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result: dict = {"threads": args.threads}
    result["gflops_fp32"], result["gflops_fp32_per_cpu_second"] = matmul_gflops(torch.float32)
    result["gflops_bf16"], result["gflops_bf16_per_cpu_second"] = matmul_gflops(torch.bfloat16)
    print(json.dumps({k: v for k, v in result.items() if k.startswith("gflops")}), flush=True)
    demos = load_demonstrations(args.demos)[: args.train_demos]
    steps = max(1, len(demos) // args.batch_size)
    if not args.skip_train:
        for name, precision, loss in (
            ("full-logits fp32", "fp32", "full"),
            ("completion-only fp32", "fp32", "completion"),
            ("completion-only bf16", "bf16", "completion"),
        ):
            short = f"{loss}-{precision}"
            if short not in args.train_variants.split(","):
                continue
            run = train_variant(args.base, demos, precision, loss, args.batch_size, steps)
            minutes = 2 * 1300 / run["rows_per_second"] / 60
            gf = result[f"gflops_{precision}"]
            idle = args.idle_gflops_fp32 if precision == "fp32" else args.idle_gflops_bf16
            run["minutes_1300x2_here"] = minutes
            run["minutes_1300x2_idle_2_cores_extrapolated"] = minutes * gf / idle
            result[f"train {name}"] = run
            print(json.dumps({name: run}), flush=True)

    ds = load_dataset(args.dataset)
    direction = "queries-to-labels"
    items = make_items(ds, direction, list(range(args.items)), False)
    settings = student_settings(args.base, args.adapter, None, False, 1, 10,
                                args.max_new_tokens, 0, 0, None, 0)  # fmt: skip
    prompts = student_prompts(items, direction, settings)
    outputs = {}
    variants = [("generate fp32", torch.float32, "generate", False),
                ("decode fp32", torch.float32, "decode", False),
                ("decode bf16", torch.bfloat16, "decode", False),
                ("decode bf16 dataset-vocabulary", torch.bfloat16, "decode", True),
                ("decode bf16 sampled x3", torch.bfloat16, "decode", False)]  # fmt: skip
    if args.skip_generate_fp32:
        variants = variants[2:]
    for name, dtype, way, restrict in variants:
        from skim.distill.model import load_student

        model, tok, _ = load_student(args.base, args.adapter, "cpu", dtype)
        keep = None
        if restrict:
            newline = tok("\n", add_special_tokens=False)["input_ids"]
            ends = np.atleast_1d(model.generation_config.eos_token_id or []).tolist()
            keep = dataset_vocabulary(tok, dataset_texts(ds), [tok.eos_token_id, *ends, *newline])
        out, seconds, cpu = generate_variant(model, tok, prompts, way, args.max_new_tokens,
                                        args.gen_batch, keep, 3 if "x3" in name else 1)  # fmt: skip
        outputs[name] = out
        per_item = seconds / len(prompts)
        gf = result["gflops_bf16" if dtype == torch.bfloat16 else "gflops_fp32"]
        idle = args.idle_gflops_bf16 if dtype == torch.bfloat16 else args.idle_gflops_fp32
        run = {
            "items_per_second": 1 / per_item,
            "cpu_seconds_per_item": cpu / len(prompts),
            "new_tokens": sum(len(r) for r in out),
            "minutes_10000_here": per_item * 10000 / 60,
            "minutes_10000_idle_2_cores_extrapolated": per_item * 10000 / 60 * gf / idle,
            "vocabulary": len(keep) if keep is not None else len(tok),
        }
        reference = {"decode fp32": "generate fp32", "decode bf16 dataset-vocabulary":
                     "decode bf16"}.get(name)  # fmt: skip
        if reference in outputs:
            same = [a == b for a, b in zip(out, outputs[reference], strict=True)]
            run[f"same_tokens_as_{reference}"] = f"{sum(same)}/{len(same)}"
        result[f"generate {name}"] = run
        print(json.dumps({name: run}), flush=True)
        del model
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
