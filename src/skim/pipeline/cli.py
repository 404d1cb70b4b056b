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
    p.add_argument(
        "--device",
        help="torch device: cpu, cuda, cuda:N (overrides [run] device; default: a GPU "
        "if there is one)",
    )
    p.set_defaults(func=_run)
    register_compare(sub)


def _run(args: argparse.Namespace) -> int:
    from skim.pipeline import load_config, run_pipeline

    report = run_pipeline(load_config(args.config, out=args.out, device=args.device))
    print(report.read_text(encoding="utf-8").split("\n## ")[0])
    print(f"report: {report}")
    return 0


def register_compare(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="train every requested method with each learner and tabulate them (paper Table 1)",
    )
    p.add_argument("config", help="TOML file, as for skim run")
    p.add_argument("--out", help="output folder (overrides [run] out)")
    p.add_argument(
        "--methods",
        help="comma-separated methods (none, ips, lever, lever+ips, gandalf, mar, oracle); "
        "overrides [train] methods",
    )
    p.set_defaults(func=_compare)


def _compare(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from skim.evaluate.compare import comparison_table, write_comparison
    from skim.pipeline import load_config, run_pipeline
    from skim.pipeline.config import check_methods

    config = load_config(args.config, out=args.out)
    if args.methods:
        config["train"]["methods"] = [m.strip() for m in args.methods.split(",") if m.strip()]
        check_methods(config["train"]["methods"], "--methods")
    run_pipeline(config)
    out = Path(config["run"]["out"])
    results = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    path = write_comparison(out, results)
    print(comparison_table(results))
    print(f"comparison: {path}")
    return 0
