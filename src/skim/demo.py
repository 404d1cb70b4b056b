"""``skim demo``: the whole SKIM loop on the embedded WordNet dataset."""

from __future__ import annotations

import argparse

PLAN = """skim demo will run, offline, on the embedded WordNet 3.0 nouns dataset:
  1. build the dataset (depth 2) and simulate click bias (exposure top-200);
  2. take a 2% gold seed of train queries as the teacher's demonstrations;
  3. generate synthetic labels (extractive, and a distilled small LM unless --quick);
  4. map them to real labels (queries-to-labels, tau 0.8, top-10) -> trn_X_Y_skim.npz;
  5. train one-vs-all and dual-encoder learners with and without SKIM, plus the oracle;
  6. evaluate on unbiased test labels and write report.md with plots.
These stages are being built; this version prints the plan only."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run SKIM end to end on the embedded WordNet dataset")
    p.add_argument("--quick", action="store_true", help="small subset, extractive generator only")
    p.add_argument("--out", default="skim-demo", help="output directory (default ./skim-demo)")
    p.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    print(PLAN)
    return 0
