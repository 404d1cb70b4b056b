"""``skim stats``: describe a dataset directory."""

from __future__ import annotations

import argparse

from skim._print import add_json_flag, print_result


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "stats",
        help="print sizes, label distribution and missing-label share",
        epilog="Example:\n  skim stats skim-demo/dataset --json",
    )
    p.add_argument("dataset", help="dataset directory (DATASET.md layout)")
    add_json_flag(p, "the statistics")
    p.set_defaults(func=_stats)


def _stats(args: argparse.Namespace) -> int:
    from skim.data import load_dataset
    from skim.data.stats import dataset_stats, format_stats

    stats = dataset_stats(load_dataset(args.dataset))
    print_result(stats, args.json, format_stats)
    return 0


def register_import(kinds: argparse._SubParsersAction) -> None:
    """``skim datasets import``: an XC repository download -> the DATASET.md layout."""
    from skim.argtypes import positive_float

    p = kinds.add_parser(
        "import",
        help="an Extreme Classification Repository dataset (BoW train.txt/test.txt or LF-* "
        "trn/tst/lbl.json.gz) -> the DATASET.md layout",
        epilog="Example:\n  skim datasets import LF-AmazonTitles-131K/ data/ "
        "--propensity-a 0.6 --propensity-b 2.6",
    )
    p.add_argument("source", help="folder of the unpacked XC repository dataset")
    p.add_argument("out", help="output dataset directory (new, empty or a dataset directory)")
    p.add_argument(
        "--layout",
        choices=["auto", "bow", "json"],
        default="auto",
        help="bow: train.txt/test.txt with the 'N F L' header; json: trn/tst/lbl.json.gz; "
        "auto: the one SOURCE holds",
    )
    p.add_argument(
        "--texts",
        help="bow only (required there): folder of trn_X.txt, tst_X.txt and Y.txt, one text "
        "per row and per label; the features go to trn_X_Xf.npz/tst_X_Xf.npz",
    )
    p.add_argument(
        "--content",
        choices=["meta", "text", "drop"],
        default="meta",
        help="json only: a record's content becomes its metadata (*.meta.txt, what SKIM "
        "generates from), is appended to its title, or is dropped",
    )
    p.add_argument("--propensity-a", type=positive_float, help="PSP propensity A (default: 0.55)")
    p.add_argument("--propensity-b", type=positive_float, help="PSP propensity B (default: 1.5)")
    add_json_flag(p, "the written folder and its statistics")
    p.set_defaults(func=_import)


def _import(args: argparse.Namespace) -> int:
    from skim.data.stats import dataset_stats, format_stats
    from skim.data.xcrepo import import_xc_dataset

    propensity = {
        key: value
        for key, value in (("A", args.propensity_a), ("B", args.propensity_b))
        if value is not None
    }
    dataset = import_xc_dataset(
        args.source,
        args.out,
        layout=args.layout,
        texts=args.texts,
        content=args.content,
        propensity=propensity,
        progress=True,  # off with -q (skim._log.progress_enabled)
    )
    stats = dataset_stats(dataset)
    text = f"wrote {dataset.path}\n{format_stats(stats)}"
    print_result({"path": str(dataset.path), "stats": stats}, args.json, text)
    return 0
