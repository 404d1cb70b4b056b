"""``skim run``: the whole pipeline from a TOML config."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="chain simulate/teach/distill/generate/map/train/predict/evaluate from a TOML config",
    )
    p.add_argument("config", help="TOML file (see examples/wordnet.toml)")
    p.add_argument("--out", help="output folder (overrides [run] out)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from skim.pipeline import load_config, run_pipeline

    report = run_pipeline(load_config(args.config, out=args.out))
    print(report.read_text(encoding="utf-8").split("\n## ")[0])
    print(f"report: {report}")
    return 0
