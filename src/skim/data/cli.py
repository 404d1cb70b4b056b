"""``skim stats``: describe a dataset directory."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stats", help="print sizes, label distribution and missing-label share")
    p.add_argument("dataset", help="dataset directory (DATASET.md layout)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=_stats)


def _stats(args: argparse.Namespace) -> int:
    from skim.data import load_dataset
    from skim.data.stats import dataset_stats, format_stats

    stats = dataset_stats(load_dataset(args.dataset))
    print(json.dumps(stats, indent=2) if args.json else format_stats(stats))
    return 0
