"""``skim evaluate``: score a predictions matrix on a dataset's test labels."""

from __future__ import annotations

import argparse

from skim._print import add_json_flag, print_result
from skim.evaluate.metrics import DEFAULT_EMPTY_ROWS, EMPTY_ROWS
from skim.evaluate.scoring import DEFAULT_K


def register(sub: argparse._SubParsersAction) -> None:
    from skim.argtypes import parse_k

    p = sub.add_parser(
        "evaluate",
        help="P/R/nDCG/PSP/coverage@k on observed and unbiased labels",
        epilog="Example:\n  skim evaluate skim-demo/dataset predictions.npz --k 1,5,10 --json",
    )
    p.add_argument("dataset", help="dataset directory")
    p.add_argument(
        "predictions",
        help="N_tst x L score matrix (.npz or XC sparse text); any finite scores, e.g. logits",
    )
    p.add_argument(
        "--k", type=parse_k, default=list(DEFAULT_K), help="cut-offs (default: 1,5,10,25,100)"
    )
    p.add_argument(
        "--empty-rows",
        choices=EMPTY_ROWS,
        default=DEFAULT_EMPTY_ROWS,
        help="test rows without a true label: skip = left out of P/R/nDCG (the SKIM authors' "
        "recall, pyxclib's recall_at_k), keep = counted as 0 (pyxclib's recall)",
    )
    p.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="OUT",
        help="without OUT: print the metrics as JSON on stdout, and nothing else; with OUT: "
        "also write them to this JSON file",
    )
    p.set_defaults(func=_evaluate)
    register_whatif(sub)


def _evaluate(args: argparse.Namespace) -> int:
    from skim._io import write_json_atomic
    from skim.data import load_dataset, load_matrix
    from skim.evaluate.params import EvaluateParams
    from skim.evaluate.scoring import (
        empty_rows_note,
        evaluate_predictions,
        filter_counts,
        filter_note,
        format_results,
    )

    params = EvaluateParams(k=args.k, empty_rows=args.empty_rows)
    dataset = load_dataset(args.dataset)
    predictions = load_matrix(args.predictions, scores=True)
    results = evaluate_predictions(dataset, predictions, params.k, params.empty_rows)
    filtered = filter_counts(dataset, predictions)
    document = {**results, "empty_rows": params.empty_rows, **filtered}
    notes = (empty_rows_note(dataset, params.empty_rows), filter_note(filtered))
    text = "\n".join((format_results(results), *notes))
    print_result(document, args.json == "-", text)
    if args.json not in (None, "-"):
        write_json_atomic(args.json, document)
    return 0


def register_whatif(sub: argparse._SubParsersAction) -> None:
    from skim.argtypes import non_negative_int
    from skim.evaluate.whatif import DEFAULT_PRECISIONS, DEFAULT_RECOVERIES

    p = sub.add_parser(
        "whatif",
        help="gain of SKIM-like pairs vs their precision and recovery (SIMULATED generator; "
        "needs complete labels)",
        epilog="Example:\n  skim whatif skim-demo/dataset --out whatif --base "
        "skim-demo/demos.seed.npz --precision 0.5,1 --recovery 0.1",
    )
    p.add_argument("dataset", help="dataset directory with trn/tst_X_Y_unbiased")
    p.add_argument("--out", required=True, help="output folder (whatif.md, .json, .png)")
    p.add_argument(
        "--base", help="known labels SKIM adds to, e.g. RUN/demos.seed.npz (default: trn_X_Y)"
    )
    p.add_argument(
        "--precision",
        default=",".join(f"{v:g}" for v in DEFAULT_PRECISIONS),
        help="precisions of the simulated pairs",
    )
    p.add_argument(
        "--recovery",
        default=",".join(f"{v:g}" for v in DEFAULT_RECOVERIES),
        help="shares of the missing pairs recovered",
    )
    p.add_argument("--learners", default="ova,dual", help="comma-separated learners")
    p.add_argument("--epochs", help="epochs per learner, e.g. ova=2,dual=3 (default: skim train's)")
    p.add_argument(
        "--measure",
        action="append",
        default=[],
        metavar="NAME=LABELS",
        help="a real generator's training labels (e.g. RUN/trn_X_Y_skim-extractive.npz) to "
        "measure and mark on the curve; repeatable",
    )
    p.add_argument(
        "--like",
        metavar="LABELS",
        help="draw the simulated correct pairs with this real generator's per-label recovery "
        "rates (its training labels), not a uniform share of each query's missing labels",
    )
    p.add_argument(
        "--encoder",
        help="encoder of the label texts for plausible wrong labels (default: all-MiniLM-L6-v2)",
    )
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed")
    p.add_argument("--device", help="torch device (default: cuda if available)")
    add_json_flag(p, "the curve's points and the paths of its table and plot")
    p.set_defaults(func=_whatif)


def _named(values: list[str], option: str) -> dict[str, str]:
    from skim.errors import SkimError

    out = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise SkimError(f"{option} takes NAME=VALUE, got {item!r}")
        out[name.strip()] = value.strip()
    return out


def _whatif(args: argparse.Namespace) -> int:
    from skim._log import LOGGER
    from skim.errors import SkimError
    from skim.evaluate.whatif import WhatifParams, parse_floats, whatif_curve
    from skim.learners.params import LEARNERS

    if args.device is not None:
        from skim.devices import resolve_device

        resolve_device(args.device)  # a missing GPU is one sentence before any work

    learners = [name.strip() for name in args.learners.split(",") if name.strip()]
    unknown = [name for name in learners if name not in LEARNERS]
    if unknown or not learners:
        raise SkimError(f"--learners: choose from {', '.join(LEARNERS)}, got {args.learners!r}")
    epochs = {}
    if args.epochs:
        raw = _named(args.epochs.split(","), "--epochs")
        try:
            epochs = {name: int(n) for name, n in raw.items()}
        except ValueError:
            raise SkimError(f"--epochs takes whole numbers, got {args.epochs!r}") from None
    measured = _named(args.measure, "--measure")
    params = WhatifParams(
        precisions=parse_floats(args.precision, "--precision"),
        recoveries=parse_floats(args.recovery, "--recovery"),
        learners=learners,
        epochs=epochs,
        encoder=args.encoder,
        seed=args.seed,
        like=args.like,
        train_options=None if args.device is None else {"device": args.device},
    )
    whatif_curve(
        args.dataset, args.out, base=args.base, measured=measured, params=params, log=LOGGER.info
    )
    from pathlib import Path

    out = Path(args.out)
    text = f"{(out / 'whatif.md').read_text(encoding='utf-8')}\nwhat-if curve: {out / 'whatif.png'}"
    print_result(whatif_result(out), args.json, text)
    return 0


def whatif_result(out) -> dict:
    """What ``--json`` prints for a what-if curve written to ``out``: its points (whatif.json)
    and the paths of its table and plot."""
    import json
    from pathlib import Path

    out = Path(out)
    return {
        "points": json.loads((out / "whatif.json").read_text(encoding="utf-8")),
        "table": str(out / "whatif.md"),
        "plot": str(out / "whatif.png"),
    }
