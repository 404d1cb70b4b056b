"""``skim generate`` and ``skim evaluate-generation``."""

from __future__ import annotations

import argparse
import sys

from skim._print import add_json_flag, print_result
from skim.argtypes import (
    fraction,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
)
from skim.direction import DIRECTIONS
from skim.distill.params import PRECISIONS
from skim.generate.openai import MAX_TOKENS as OPENAI_MAX_TOKENS
from skim.generate.registry import GENERATORS
from skim.generate.student import DEFAULT_MAX_NEW_TOKENS
from skim.scale.cluster import add_ray_argument, ray_options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "generate",
        help="write synthetic texts for every item (SYNTHETIC.jsonl)",
        epilog="Examples:\n  skim generate data/ SYNTHETIC.jsonl --direction queries-to-labels\n"
        "  skim generate data/ SYNTHETIC.jsonl --direction queries-to-labels --generator hf "
        "--model student/ --json",
    )
    p.add_argument("dataset", help="dataset directory (DATASET.md layout)")
    p.add_argument("out", help="output JSONL, one record per source item")
    p.add_argument(
        "--direction",
        required=True,
        choices=DIRECTIONS,
        help="queries-to-labels: texts for train queries; labels-to-queries: texts for labels",
    )
    p.add_argument(
        "--generator",
        default="extractive",
        choices=GENERATORS,
        help=GENERATORS.help_text(),
    )
    p.add_argument(
        "--model",
        help="hf, vllm, openai: the model's name or folder; for openai, the endpoint's model name",
    )
    p.add_argument("--adapter", help="hf, vllm: LoRA adapter folder written by skim distill")
    p.add_argument(
        "--no-metadata",
        action="store_true",
        default=None,
        help="hf, vllm, openai: prompts without metadata (default: as the model was distilled)",
    )
    p.add_argument(
        "--num-return",
        type=positive_int,
        help="completions (hf, vllm) or texts per item (default: "
        + ", ".join(f"{entry.num_return} for {name}" for name, entry in GENERATORS.items())
        + ")",
    )
    p.add_argument(
        "--temperature",
        type=non_negative_float,
        help="hf, vllm, openai: 0 decodes greedily (default: 0.8)",
    )
    p.add_argument("--top-k", type=positive_int, help="hf, vllm: sampling top-k (default: 200)")
    p.add_argument(
        "--max-new-tokens",
        type=positive_int,
        help="hf, vllm, openai: tokens generated per item (openai: sent as max_tokens) "
        f"(default: {DEFAULT_MAX_NEW_TOKENS} for hf and vllm, {OPENAI_MAX_TOKENS} for openai)",
    )
    p.add_argument(
        "--batch-size", type=positive_int, help="hf: prompts per forward pass (default: 32)"
    )
    p.add_argument("--device", help="hf: torch device, cpu, cuda, cuda:N (default: a GPU if any)")
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="hf: run the model in bfloat16 (default: auto, on AMX CPUs and bf16 GPUs)",
    )
    p.add_argument(
        "--vocabulary",
        choices=("full", "dataset"),
        help="hf: 'dataset' lets the model write only tokens of the dataset's texts (faster, "
        "but a constraint: outputs can differ from the full vocabulary's) (default: full)",
    )
    p.add_argument(
        "--constrain",
        choices=("none", "labels"),
        help="hf, queries-to-labels: write label names only (a prefix trie over their tokens) "
        "(default: none)",
    )
    p.add_argument(
        "--tensor-parallel-size",
        type=positive_int,
        help="vllm: GPUs one engine splits the model over (default: 1)",
    )
    p.add_argument(
        "--gpu-memory-utilization",
        type=fraction,
        help="vllm: share of each GPU's memory the engine may take (default: 0.9)",
    )
    p.add_argument(
        "--max-model-len",
        type=positive_int,
        help="vllm: the engine's context length (default: 2048, or the model's own limit if lower)",
    )
    p.add_argument(
        "--endpoint", help="openai: base URL of the OpenAI-compatible endpoint (required there)"
    )
    p.add_argument(
        "--concurrency", type=positive_int, help="openai: requests in flight (default: 8)"
    )
    p.add_argument(
        "--max-rpm",
        type=positive_float,
        help="openai: request starts per minute, retries included (default: unlimited)",
    )
    p.add_argument(
        "--max-retries", type=non_negative_int, help="openai: retries per item (default: 5)"
    )
    p.add_argument(
        "--limit", type=positive_int, help="generate for the first N items only (default: all)"
    )
    p.add_argument(
        "--shard-size", type=positive_int, default=1000, help="items per resumable shard"
    )
    p.add_argument("--overwrite", action="store_true", help="discard shards of other settings")
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed")
    add_json_flag(p, "the summary")
    add_ray_argument(p)
    p.set_defaults(func=_generate)

    e = sub.add_parser(
        "evaluate-generation",
        help="GT coverage@k of synthetic texts (paper Figure 6)",
        epilog="Example:\n  skim evaluate-generation data/ SYNTHETIC.jsonl --direction "
        "queries-to-labels -k 10",
    )
    e.add_argument("dataset", help="dataset directory")
    e.add_argument("synthetic", help="SYNTHETIC.jsonl written by skim generate")
    e.add_argument(
        "--direction",
        required=True,
        choices=DIRECTIONS,
        help="the direction SYNTHETIC.jsonl was generated in",
    )
    e.add_argument("--encoder", help="encoder name/folder (default: all-MiniLM-L6-v2)")
    e.add_argument("-k", type=positive_int, default=100, help="neighbours per item")
    add_json_flag(e, "the coverage")
    e.set_defaults(func=_evaluate)


def _generate(args: argparse.Namespace) -> int:
    from skim.generate import GenerateParams, generate

    names = (
        "temperature", "top_k", "max_new_tokens", "batch_size", "endpoint", "concurrency",
        "max_rpm", "max_retries", "precision", "vocabulary", "constrain",
        "tensor_parallel_size", "gpu_memory_utilization", "max_model_len",
    )  # fmt: skip
    options = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    params = GenerateParams(
        generator=args.generator,
        model=args.model,
        adapter=args.adapter,
        no_metadata=args.no_metadata,
        num_return=args.num_return,
        shard_size=args.shard_size,
        seed=args.seed,
        options=options,
        overwrite=args.overwrite,
        ray=ray_options(args.ray),
        device=args.device,
    )
    items = list(range(args.limit)) if args.limit is not None else None
    summary = generate(args.dataset, args.out, args.direction, params=params, items=items)
    print_result(summary, args.json)
    if summary.get("failed"):
        print(
            f"skim generate: {summary['failed']} items failed after the last retry (listed in "
            f"{summary['failed_path']}); rerun the same command to ask them again",
            file=sys.stderr,
        )
        return 1
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from skim.generate import evaluate_generation

    result = evaluate_generation(
        args.dataset, args.synthetic, args.direction, encoder=args.encoder, k=args.k
    )
    print_result(result, args.json)
    return 0
