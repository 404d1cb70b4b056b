"""``skim evaluate``: score a predictions matrix on a dataset's test labels."""

from __future__ import annotations

import argparse

from skim.evaluate.scoring import DEFAULT_K


def register(sub: argparse._SubParsersAction) -> None:
    from skim.cli import parse_k

    p = sub.add_parser("evaluate", help="P/R/nDCG/PSP/coverage@k on observed and unbiased labels")
    p.add_argument("dataset", help="dataset directory")
    p.add_argument("predictions", help="N_tst x L score matrix (.npz or XC sparse text)")
    p.add_argument(
        "--k", type=parse_k, default=list(DEFAULT_K), help="cut-offs (default 1,5,10,25,100)"
    )
    p.add_argument("--json", metavar="OUT", help="also write the metrics to this JSON file")
    p.set_defaults(func=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    from skim._io import write_json_atomic
    from skim.data import load_dataset, load_matrix
    from skim.evaluate.scoring import evaluate_predictions, format_results

    dataset = load_dataset(args.dataset)
    results = evaluate_predictions(dataset, load_matrix(args.predictions), args.k)
    print(format_results(results))
    if args.json:
        write_json_atomic(args.json, results)
    return 0
