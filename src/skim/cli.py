"""The ``skim`` command line: a thin layer over the library's public functions.

Each command lives beside the code it drives (``skim/<stage>/cli.py``) and registers itself
here. A user error (:class:`skim.errors.SkimError`) is printed as one sentence and exits with
status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from skim import __version__
from skim.errors import SkimError

COMMAND_MODULES = (
    "skim.data.cli",
    "skim.evaluate.cli",
    "skim.pipeline.cli",
    "skim.simulate.cli",
    "skim.map.cli",
    "skim.teach.cli",
    "skim.distill.cli",
    "skim.generate.cli",
    "skim.learners.cli",
    "skim.demo",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every registered command."""
    parser = argparse.ArgumentParser(
        prog="skim",
        description="SKIM: recover missing labels of extreme classification data from metadata.",
    )
    parser.add_argument("--version", action="version", version=f"skim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def parse_k(text: str) -> list[int]:
    """Parse a comma-separated list of cut-offs such as ``1,5,10``."""
    try:
        ks = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers like 1,5,10, got {text!r}") from None
    if not ks or min(ks) < 1:
        raise argparse.ArgumentTypeError(f"cut-offs must be positive, got {text!r}")
    return ks


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``skim`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SkimError as exc:
        print(f"skim {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"skim {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
