"""``skim run``: the whole pipeline from a TOML config."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="chain simulate/teach/distill/generate/map/train/predict/evaluate from a TOML config",
        epilog="Examples:\n  skim run examples/wordnet.toml --out runs/first\n"
        "  skim run --example > config.toml    # a commented config to edit",
    )
    p.add_argument("config", nargs="?", help="TOML file (see examples/wordnet.toml)")
    p.add_argument("--out", help="output folder (default: the config's [run] out)")
    p.add_argument(
        "--example",
        action="store_true",
        help="print a commented config with every key and its default, and run nothing",
    )
    p.set_defaults(func=_run)
    register_compare(sub)


def _run(args: argparse.Namespace) -> int:
    from skim._log import LOGGER
    from skim.errors import SkimError
    from skim.pipeline import load_config, run_pipeline

    if args.example:
        from skim.pipeline.skeleton import config_skeleton

        print(config_skeleton(), end="")
        return 0
    if args.config is None:
        raise SkimError("give a CONFIG file (skim run --example prints one to start from)")

    report = run_pipeline(load_config(args.config, out=args.out), log=LOGGER.info)
    print(report.read_text(encoding="utf-8").split("\n## ")[0])
    print(f"report: {report}")
    return 0


def register_compare(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="train every requested method with each learner and tabulate them (paper Table 1)",
        epilog="Example:\n  skim compare examples/wordnet.toml --methods none,ips,lever --json",
    )
    p.add_argument("config", help="TOML file, as for skim run")
    p.add_argument("--out", help="output folder (default: the config's [run] out)")
    p.add_argument(
        "--methods",
        help="comma-separated methods (none, ips, lever, lever+ips, gandalf, mar, oracle); "
        "(default: the config's [train] methods)",
    )
    p.set_defaults(func=_compare)


def _compare(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from skim._log import LOGGER
    from skim.evaluate.compare import comparison_table, write_comparison
    from skim.pipeline import load_config, run_pipeline
    from skim.pipeline.config import check_methods

    config = load_config(args.config, out=args.out)
    if args.methods:
        config["train"]["methods"] = [m.strip() for m in args.methods.split(",") if m.strip()]
        check_methods(config["train"]["methods"], "--methods")
    run_pipeline(config, log=LOGGER.info)
    out = Path(config["run"]["out"])
    results = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    path = write_comparison(out, results)
    print(comparison_table(results))
    print(f"comparison: {path}")
    return 0
