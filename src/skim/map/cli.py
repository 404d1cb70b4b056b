"""``skim map``: turn synthetic texts into train label pairs (SKIM step 2)."""

from __future__ import annotations

import argparse

from skim._print import add_json_flag, print_result
from skim.argtypes import fraction, matrix_path, positive_int
from skim.direction import DIRECTIONS
from skim.index.build import INDEX_KINDS
from skim.scale.cluster import add_ray_argument, ray_options


def _tau(text: str) -> float | str:
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'auto', got {text!r}") from None


def _taus(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers like 0.6,0.7,0.8, got {text!r}"
        ) from None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "map",
        help="map synthetic texts to real train queries or labels -> new train labels",
        description="Encode each synthetic text, find its top-k nearest targets by cosine, keep "
        "those with (cos+1)/2 >= tau, max-aggregate per (query, label) pair and unite with the "
        "observed labels (clicks kept). Writes OUT and OUT.manifest.json.",
        epilog="Examples:\n  skim map data/ SYNTHETIC.jsonl trn_X_Y_skim.npz --direction "
        "queries-to-labels --tau 0.8\n"
        "  skim map data/ SYNTHETIC.jsonl --direction queries-to-labels --sweep 0.6,0.7,0.8,0.9",
    )
    p.add_argument("dataset", help="dataset directory (DATASET.md layout)")
    p.add_argument("synthetic", help='SYNTHETIC.jsonl: {"source": int, "texts": [...]} per line')
    p.add_argument(
        "out",
        nargs="?",
        type=matrix_path,
        help="output label matrix (.npz or .txt); not with --sweep",
    )
    p.add_argument(
        "--direction",
        required=True,
        choices=DIRECTIONS,
        help="queries-to-labels: texts written for train queries map onto labels; "
        "labels-to-queries: texts written for labels map onto train queries",
    )
    p.add_argument("--observed", help="labels to unite with (default: the dataset's trn_X_Y)")
    p.add_argument(
        "--encoder",
        help="sentence-transformers name/path or skim dual model (default: all-MiniLM-L6-v2)",
    )
    p.add_argument("--index", default="auto", choices=INDEX_KINDS, help=INDEX_KINDS.help_text())
    p.add_argument("--topk", type=positive_int, default=10, help="neighbours per synthetic text")
    p.add_argument("--tau", type=_tau, default=0.8, help="min (cos+1)/2, or 'auto'")
    p.add_argument(
        "--target-precision",
        type=fraction,
        help="with --tau auto (and required there): the estimated precision to reach",
    )
    p.add_argument("--binary", action="store_true", help="store 1 instead of mapping scores")
    p.add_argument(
        "--calibrated",
        action="store_true",
        help="store the precision estimated at each pair's score on the known rows",
    )
    p.add_argument(
        "--min-votes",
        type=positive_int,
        default=1,
        help="keep pairs proposed by >= this many texts",
    )
    p.add_argument(
        "--agree-with",
        metavar="MODEL",
        help="skim learner folder (trained on observed + seed): keep only pairs it ranks high "
        "(default: no agreement filter)",
    )
    p.add_argument(
        "--agree-topk",
        type=positive_int,
        default=20,
        help="with --agree-with: labels per query",
    )
    p.add_argument(
        "--sweep",
        type=_taus,
        metavar="TAUS",
        help="print the counts and estimated precision at these taus, e.g. 0.6,0.7,0.8,0.9, "
        "and write nothing",
    )
    p.add_argument(
        "--known",
        help="train labels complete on some rows, e.g. the teacher's demos.seed.npz "
        "(default: the dataset's trn_X_Y_unbiased)",
    )
    p.add_argument(
        "--known-rows",
        help="file of the row indices of --known that are complete (.txt of "
        'integers, or .json list / {"rows": [...]}) (default: the rows where it differs from the '
        "observed labels)",
    )
    p.add_argument(
        "--min-known-pairs", type=positive_int, default=10, help="known pairs --tau auto needs"
    )
    p.add_argument("--M", type=positive_int, help="hnsw/faiss graph degree (default: 32)")
    p.add_argument(
        "--ef-construction", type=positive_int, help="hnsw/faiss build list size (default: 200)"
    )
    p.add_argument(
        "--ef", type=positive_int, help="hnsw/faiss search list size, raised to topk (default: 64)"
    )
    p.add_argument("--threads", type=positive_int, help="hnsw/faiss threads (default: all cores)")
    p.add_argument(
        "--device",
        help="encoder and exact index device (cpu, cuda, ...) (default: cuda if available)",
    )
    p.add_argument(
        "--chunk-size",
        type=positive_int,
        default=32768,
        help="synthetic texts encoded and searched at a time",
    )
    p.add_argument(
        "--cache-dir", help="embedding cache (default: $SKIM_CACHE_DIR or ~/.cache/skim)"
    )
    add_json_flag(p, "the sweep, or the counts, tau estimate and written paths")
    add_ray_argument(p)
    p.set_defaults(func=_map)


def _map(args: argparse.Namespace) -> int:
    from skim.data import load_dataset
    from skim.errors import SkimError
    from skim.map import MapParams, format_table, map_synthetic, sweep_tau, write_mapping

    if args.sweep is None and not args.out:
        raise SkimError("give an output path OUT (or --sweep TAUS to print a sweep only)")
    if args.out:
        from skim._io import check_output

        check_output(args.out)  # before the encoding, not after it
    index_params = {
        key: value
        for key, value in (
            ("M", args.M),
            ("ef_construction", args.ef_construction),
            ("ef", args.ef),
            ("num_threads", args.threads),
        )
        if value is not None
    }
    params = MapParams(
        encoder=args.encoder,
        index=args.index,
        topk=args.topk,
        tau=args.tau,
        binary=args.binary,
        target_precision=args.target_precision,
        min_known_pairs=args.min_known_pairs,
        min_votes=args.min_votes,
        agree_topk=args.agree_topk,
        calibrated=args.calibrated,
        chunk_size=args.chunk_size,
        index_params=index_params,
        cache_dir=args.cache_dir,
        device=args.device,
        progress=True,
        ray=ray_options(args.ray),
    )
    data = dict(
        observed=args.observed,
        known=args.known,
        known_rows=args.known_rows,
        agree_with=args.agree_with,
    )
    dataset = load_dataset(args.dataset)
    if args.sweep is not None:
        table = sweep_tau(dataset, args.synthetic, args.direction, args.sweep, params, **data)
        print_result(table, args.json, format_table)
        return 0
    matrix, manifest = map_synthetic(dataset, args.synthetic, args.direction, params, **data)
    path = write_mapping(args.out, matrix, manifest)
    counts, settings = manifest["counts"], manifest["settings"]
    if args.json:
        result = {"counts": counts, "tau_estimate": manifest["tau_estimate"]}
        print_result({**result, "output": args.out, "manifest": str(path)}, True)
        return 0
    print(
        f"tau {settings['tau']:g}: {counts['new_pairs']} new pairs on {counts['rows_touched']} "
        f"rows and {counts['labels_touched']} labels from {counts['texts_used']} synthetic texts "
        f"({counts['empty_skipped']} empty, {counts['duplicate_skipped']} duplicate skipped)"
    )
    est = manifest["tau_estimate"]
    if est and est.get("precision") is not None:
        print(
            f"on {manifest['inputs']['known']['rows']} known rows: precision "
            f"{est['precision']:.3f}, recovered {est['recovered'] or 0:.3f} of the missing pairs"
        )
    print(f"wrote {args.out} ({counts['output_pairs']} pairs) and {path}")
    return 0
