"""``skim run``: the whole pipeline from a TOML config."""

from __future__ import annotations

import argparse

from skim._print import add_json_flag, print_result
from skim.scale.cluster import add_ray_argument


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
    add_json_flag(p, "the metrics and the report's path")
    add_ray_argument(p)  # overrides [ray] address
    _add_device(p)
    p.set_defaults(func=_run)
    register_compare(sub)


def _add_device(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--device",
        help="torch device: cpu, cuda, cuda:N (overrides [run] device) (default: a GPU if any)",
    )


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

    config = load_config(args.config, out=args.out, device=args.device)
    if args.ray is not None:
        config["ray"]["address"] = args.ray
    report = run_pipeline(config, log=LOGGER.info)
    print_result(run_result(report), args.json, run_text(report))
    return 0


def run_text(report) -> str:
    """What ``skim run`` prints for a person: the report's table and verdict, ending with the
    pairs each mapping added, their estimated precision and gain, then the report's path."""
    from skim.evaluate.report import summary_block

    text = report.read_text(encoding="utf-8")
    head = text.split("\n## ")[0]
    block = summary_block(text)
    if block:
        head = head.replace(block, "").rstrip() + "\n\n" + block
    return f"{head}\n\nreport: {report}"


def run_result(report) -> dict:
    """What ``--json`` prints after a run: the report's path, the run's metrics and the
    summary the text ends with (pairs added, estimated precision, gain: the report's
    :func:`~skim.evaluate.report.summary_rows`; None for a report written without it)."""
    import json

    from skim.evaluate.report import SUMMARY_FILE

    metrics = report.parent / "metrics.json"
    summary = report.parent / SUMMARY_FILE
    return {
        "report": str(report),
        "metrics": json.loads(metrics.read_text(encoding="utf-8")),
        "summary": json.loads(summary.read_text(encoding="utf-8")) if summary.exists() else None,
    }


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
    add_json_flag(p, "every row's metrics and the comparison's path")
    _add_device(p)
    p.set_defaults(func=_compare)


def _compare(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from skim._log import LOGGER
    from skim.evaluate.compare import comparison_table, write_comparison
    from skim.pipeline import load_config, run_pipeline
    from skim.pipeline.config import check_methods

    config = load_config(args.config, out=args.out, device=args.device)
    if args.methods:
        config["train"]["methods"] = [m.strip() for m in args.methods.split(",") if m.strip()]
        check_methods(config["train"]["methods"], "--methods")
    run_pipeline(config, log=LOGGER.info)
    out = Path(config["run"]["out"])
    results = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    path = write_comparison(out, results)
    text = f"{comparison_table(results)}\ncomparison: {path}"
    print_result({"comparison": str(path), "metrics": results}, args.json, text)
    return 0
