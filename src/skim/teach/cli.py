"""``skim teach``: demonstrations from an LLM teacher, or offline from a gold seed."""

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


def _sample(text: str) -> int | float:
    """``500`` -> 500 items, ``0.02`` -> 2% of them."""
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        pass
    try:
        return fraction(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected a positive count or a fraction in (0, 1], got {text!r}"
        ) from None


def _meta_tokens(text: str) -> int | str | None:
    if text in ("auto", "none"):
        return None if text == "none" else text
    try:
        return non_negative_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected an integer >= 0, 'auto' or 'none', got {text!r}"
        ) from None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "teach",
        help="teacher demonstrations (OpenAI-compatible LLM, or a gold seed offline)",
        description=(
            "Ask a teacher LLM to write texts for a sample of items (labels-to-queries: "
            "queries for labels; queries-to-labels: labels for train queries). Resumable: "
            "answers are cached in OUT.cache.jsonl and a rerun asks only for what is missing "
            "or failed (OUT.failed.jsonl). The key comes from $SKIM_API_KEY or "
            "$OPENAI_API_KEY. With --batch-api the same requests go through the OpenAI Batch "
            "API at half price (answers within 24 h): the batch ids wait in OUT.batch.json, and "
            "rerunning the same command (after --no-wait or Ctrl-C) collects them without "
            "submitting anything twice. With --teacher gold, writes the same records offline "
            "from the complete labels of a random seed and OUT.seed.npz (observed + seed labels)."
        ),
        epilog="Examples:\n  skim teach data/ demos.jsonl --direction queries-to-labels "
        "--endpoint http://localhost:8000/v1 --model Qwen/Qwen2.5-7B-Instruct --sample 500\n"
        "  skim teach data/ demos.jsonl --direction queries-to-labels --teacher gold "
        "--seed-fraction 0.02\n"
        "  skim teach data/ demos.jsonl --direction queries-to-labels --model gpt-4o "
        "--sample 500 --dry-run --price-in 2.5 --price-out 10\n"
        "  skim teach data/ demos.jsonl --direction queries-to-labels "
        "--endpoint https://api.openai.com/v1 --model gpt-4o --sample 20000 --batch-api "
        "--no-wait   # later: the same command again collects the answers",
    )
    p.add_argument("dataset", help="dataset directory")
    p.add_argument("out", help="demonstrations file to write, e.g. demos.jsonl")
    p.add_argument(
        "--direction",
        required=True,
        choices=DIRECTIONS,
        help="queries-to-labels: the teacher writes labels for train queries; "
        "labels-to-queries: queries for labels",
    )
    p.add_argument(
        "--teacher",
        choices=("llm", "gold"),
        default="llm",
        help="llm: an OpenAI-compatible endpoint; gold: offline, from the complete labels",
    )
    p.add_argument(
        "--endpoint",
        help="OpenAI-compatible base URL, e.g. http://localhost:8000/v1 (required by llm)",
    )
    p.add_argument("--model", help="model name at the endpoint (required by llm)")
    p.add_argument(
        "--seed-fraction",
        type=fraction,
        help="gold teacher (and required there): fraction of items in the seed",
    )
    p.add_argument("--n", type=positive_int, help="texts to ask per item (default: 10; gold: all)")
    p.add_argument("--concurrency", type=positive_int, default=8, help="requests in flight")
    p.add_argument(
        "--max-rpm", type=positive_float, help="request starts per minute (default: unlimited)"
    )
    p.add_argument(
        "--sample", type=_sample, help="items to ask: a count or a fraction (default: all)"
    )
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed")
    p.add_argument("--template", help="Jinja2 prompt template file (default: the built-in one)")
    p.add_argument(
        "--known",
        type=non_negative_int,
        help="known partners shown (default: 5 labels-to-queries, else 0)",
    )
    p.add_argument(
        "--max-meta-tokens",
        type=_meta_tokens,
        default="auto",
        help="metadata token budget or 'none' (default: auto, 750 labels-to-queries, 1000 "
        "otherwise)",
    )
    p.add_argument(
        "--tokenizer",
        help="Hugging Face tokenizer counting metadata tokens (default: 0.75 words per token)",
    )
    p.add_argument(
        "--temperature",
        type=non_negative_float,
        default=0.7,
        help="the teacher's sampling temperature",
    )
    p.add_argument(
        "--max-tokens",
        type=non_negative_int,
        default=1000,
        help="completion limit, 0: not sent",
    )
    p.add_argument("--timeout", type=positive_float, default=120.0, help="seconds per request")
    p.add_argument(
        "--max-retries",
        type=non_negative_int,
        default=6,
        help="retries of a request after its first attempt (exponential backoff)",
    )
    p.add_argument(
        "--batch-api",
        action="store_true",
        help="ask through the OpenAI Batch API: half price, answered within 24 h, resumable "
        "(default: chat requests, answered now)",
    )
    p.add_argument(
        "--no-wait",
        action="store_true",
        help="--batch-api: submit the batches and return (exit 0); rerun the same command to "
        "collect them (default: wait until every batch ended)",
    )
    p.add_argument(
        "--poll-interval",
        type=positive_float,
        help="--batch-api: seconds between two checks of the batches' status (default: 30)",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="ask nothing: print the requests, prompt tokens, expected and maximum "
        "completion tokens and, with prices, the expected and maximum cost (no endpoint "
        "needed; the expected completion is the mean of the cached answers, else 10 tokens a "
        "text; with --batch-api at the Batch API's half price)",
    )
    p.add_argument(
        "--price-in", type=non_negative_float, help="USD per million prompt tokens (--dry-run)"
    )
    p.add_argument(
        "--price-out",
        type=non_negative_float,
        help="USD per million completion tokens (--dry-run)",
    )
    add_json_flag(p, "the summary")
    p.set_defaults(func=_teach)


def _teach(args: argparse.Namespace) -> int:
    from skim.errors import SkimError
    from skim.teach import TeachParams, gold_teacher, teach, teach_cost

    params = TeachParams(
        endpoint=args.endpoint,
        model=args.model,
        n=10 if args.n is None else args.n,
        concurrency=args.concurrency,
        max_rpm=args.max_rpm,
        sample=args.sample,
        seed=args.seed,
        template=args.template,
        n_known=args.known,
        max_meta_tokens=args.max_meta_tokens,
        tokenizer=args.tokenizer,
        temperature=args.temperature,
        max_tokens=args.max_tokens or None,
        timeout=args.timeout,
        max_retries=args.max_retries,
        batch_api=args.batch_api,
        wait=not args.no_wait,
        poll_interval=30.0 if args.poll_interval is None else args.poll_interval,
    )
    if (args.no_wait or args.poll_interval is not None) and not args.batch_api:
        raise SkimError("--no-wait and --poll-interval go with --batch-api")
    if args.batch_api and args.teacher == "gold":
        raise SkimError("--batch-api asks an LLM teacher; the gold teacher asks nothing")
    if args.dry_run:
        if args.teacher == "gold":
            raise SkimError("--dry-run estimates an LLM teacher's cost; the gold teacher is free")
        cost = teach_cost(
            args.dataset, args.out, args.direction, params=params,
            price_in=args.price_in, price_out=args.price_out,
        )  # fmt: skip
        print_result(cost, args.json)
        return 0
    if args.price_in is not None or args.price_out is not None:
        raise SkimError("--price-in and --price-out go with --dry-run")
    if args.teacher == "gold":
        if args.seed_fraction is None:
            raise SkimError("--teacher gold needs --seed-fraction (e.g. 0.02)")
        summary = gold_teacher(
            args.dataset, args.out, args.direction, args.seed_fraction, params=params, n=args.n
        )
        summary.pop("seed_items")  # in the manifest; too long for a terminal
    else:
        if not args.endpoint or not args.model:
            raise SkimError("the LLM teacher needs --endpoint and --model (or use --teacher gold)")
        summary = teach(args.dataset, args.out, args.direction, params=params)
    print_result(summary, args.json)
    if summary.get("pending"):  # --no-wait: submitted, which is what was asked (exit 0)
        print(
            f"skim teach: {summary['pending']} requests in batch(es) "
            f"{', '.join(summary['batches'])} (state in {summary['batch_state']}); rerun the "
            "same command to collect them",
            file=sys.stderr,
        )
        return 0
    if summary.get("failed"):
        how = "in their batch" if summary.get("batch_api") else "after the last retry"
        print(
            f"skim teach: {summary['failed']} items failed {how} (listed in "
            f"{summary['failed_path']}); rerun the same command to ask them again",
            file=sys.stderr,
        )
        return 1
    return 0
