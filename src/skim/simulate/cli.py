"""``skim datasets wordnet`` and ``skim simulate``: build the embedded dataset, simulate bias."""

from __future__ import annotations

import argparse

from skim._print import add_json_flag, print_result
from skim.argtypes import fraction, non_negative_int, positive_float
from skim.data.cli import register_import
from skim.scale.cluster import add_ray_argument, ray_options


def register(sub: argparse._SubParsersAction) -> None:
    datasets = sub.add_parser(
        "datasets",
        help="build a dataset with complete labels, or import an XC repository one",
        epilog="Examples:\n  skim datasets wordnet data/wordnet --lexfiles noun.food\n"
        "  skim datasets import LF-AmazonTitles-131K/ data/amazon",
    )
    kinds = datasets.add_subparsers(dest="dataset_kind", metavar="KIND", required=True)
    p = kinds.add_parser(
        "wordnet",
        help="WordNet 3.0 nouns: synset -> hypernym ancestors, with simulated exposure bias",
        epilog="Example:\n  skim datasets wordnet data/wordnet --depth all --exposure-topk 20 "
        "--lexfiles noun.food,noun.plant",
    )
    p.add_argument("out", help="output dataset directory")
    p.add_argument(
        "--depth",
        default="2",
        help="ancestor distance of labels, or 'all' for every ancestor up to the root",
    )
    p.add_argument(
        "--exposure-topk",
        type=non_negative_int,
        default=200,
        help="observe a true pair only if its label is in the encoder's top-K (0 keeps every pair)",
    )
    p.add_argument("--source", help="WordNet dict folder or data.noun (default: the shipped copy)")
    p.add_argument(
        "--lexfiles", help="only queries of these files, e.g. noun.food,noun.animal (default: all)"
    )
    _add_common(p)
    p.set_defaults(func=_wordnet)
    register_import(kinds)

    s = sub.add_parser(
        "simulate",
        help="rewrite observed labels from complete ones (click bias)",
        epilog="Example:\n  skim simulate data/wordnet data/wordnet-top20 --exposure-topk 20",
    )
    s.add_argument("dataset", help="dataset directory holding trn/tst_X_Y_unbiased")
    s.add_argument("out", help="output dataset directory (may be the input)")
    s.add_argument(
        "--exposure-topk",
        type=non_negative_int,
        default=200,
        help="observe a true pair only if its label is in the top-K (0: every pair)",
    )
    s.add_argument(
        "--click-model",
        choices=["sigmoid"],
        help="after exposure, keep w.p. sigma(s/T) (default: keep every exposed pair)",
    )
    s.add_argument("--temperature", type=positive_float, default=1.0, help="T of the click model")
    s.add_argument(
        "--mar-fraction",
        type=fraction,
        help="instead: keep this uniform random fraction of the true pairs (MAR control) "
        "(default: off)",
    )
    _add_common(s)
    s.set_defaults(func=_simulate)


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--encoder", help="sentence-transformers name or path (default: bundled all-MiniLM-L6-v2)"
    )
    p.add_argument("--device", help="encoder device, e.g. cpu or cuda (default: automatic)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed")
    p.add_argument(
        "--cache-dir", help="embedding cache (default: $SKIM_CACHE_DIR or ~/.cache/skim)"
    )
    add_json_flag(p, "the written folder, its statistics and the observed shares")
    add_ray_argument(p)


def _encoder(args: argparse.Namespace):
    if args.encoder is None and args.device is None:
        return None
    from skim.encode import load_text_encoder

    return load_text_encoder(args.encoder, **({"device": args.device} if args.device else {}))


def _print_summary(dataset, as_json: bool) -> None:
    """The written dataset: its sizes and how many true pairs the simulation observed."""
    from skim.data.stats import dataset_stats

    stats = dataset_stats(dataset)
    simulated = dataset.info.get("simulation", {}).get("counts", {})
    lines = [
        f"wrote {dataset.path}: {stats['train_points']:,} train / {stats['test_points']:,} test "
        f"queries, {stats['labels']:,} labels",
    ]
    for split in ("train", "test"):
        counts = simulated.get(split)
        if counts:
            lines.append(
                f"{split}: {counts['observed_pairs']:,} of {counts['true_pairs']:,} true pairs "
                f"observed ({100 * counts.get('observed_share', 0):.1f}%)"
            )
    result = {"path": str(dataset.path), "stats": stats, "simulation": simulated}
    print_result(result, as_json, "\n".join(lines))


def _wordnet(args: argparse.Namespace) -> int:
    from skim.simulate import build_wordnet_dataset

    dataset = build_wordnet_dataset(
        args.out,
        depth=args.depth,
        exposure_topk=args.exposure_topk or None,
        source=args.source,
        lexfiles=args.lexfiles,
        encoder=_encoder(args),
        seed=args.seed,
        cache_dir=args.cache_dir,
        ray=ray_options(args.ray),
    )
    _print_summary(dataset, args.json)
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from skim.data import load_dataset
    from skim.data.output import save_dataset_dir
    from skim.simulate import simulate_bias
    from skim.simulate.wordnet import LICENSE_FILE

    license_file = Path(args.dataset) / LICENSE_FILE
    extra = {LICENSE_FILE: license_file.read_text("utf-8")} if license_file.is_file() else None
    dataset = simulate_bias(
        load_dataset(args.dataset),
        exposure_topk=args.exposure_topk or None,
        encoder=_encoder(args),
        click_model=args.click_model,
        temperature=args.temperature,
        mar_fraction=args.mar_fraction,
        seed=args.seed,
        cache_dir=args.cache_dir,
        ray=ray_options(args.ray),
    )
    save_dataset_dir(dataset, args.out, extra_files=extra)
    _print_summary(load_dataset(args.out), args.json)
    return 0
