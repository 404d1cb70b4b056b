"""``skim train`` and ``skim predict``: thin calls of :mod:`skim.learners`."""

from __future__ import annotations

import argparse

from skim._print import add_json_flag, print_result
from skim.argtypes import (
    matrix_path,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
)
from skim.learners.registry import LEARNERS, METHODS
from skim.scale.cluster import add_ray_argument, ray_options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train an XC learner (ova or dual) on a dataset's labels",
        epilog="Examples:\n  skim train data/ models/ova-base --learner ova\n"
        "  skim train data/ models/dual-skim --learner dual --labels trn_X_Y_skim.npz",
    )
    p.add_argument("dataset", help="dataset directory")
    p.add_argument("model_dir", help="output folder (model.safetensors + skim_model.json)")
    p.add_argument("--learner", choices=LEARNERS, default="ova", help=LEARNERS.help_text())
    p.add_argument("--labels", help="training labels (default: the dataset's trn_X_Y.npz)")
    p.add_argument("--method", choices=METHODS, default="none", help=METHODS.help_text())
    p.add_argument(
        "--with-metadata", action="store_true", help="append each query's metadata to its text"
    )
    p.add_argument("--epochs", type=positive_int, default=3, help="passes over the data")
    p.add_argument("--batch-size", type=positive_int, default=512, help="queries per step")
    p.add_argument(
        "--lr",
        type=positive_float,
        help="learning rate (default: "
        + ", ".join(f"{entry.lr:g} for {name}" for name, entry in LEARNERS.items())
        + ")",
    )
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed")
    p.add_argument(
        "--encoder", help="sentence-transformers name or path (default: all-MiniLM-L6-v2)"
    )
    p.add_argument(
        "--cache-dir", help="embedding cache (default: $SKIM_CACHE_DIR or ~/.cache/skim)"
    )
    p.add_argument("--finetune-encoder", action="store_true", help="train the encoder too (GPU)")
    p.add_argument(
        "--encoder-lr", type=positive_float, default=2e-5, help="with --finetune-encoder: its lr"
    )
    p.add_argument(
        "--bottleneck", type=positive_int, help="ova: width of a bottleneck layer (default: none)"
    )
    p.add_argument(
        "--temperature", type=positive_float, default=0.05, help="dual: softmax temperature"
    )
    p.add_argument(
        "--hard-negatives", type=non_negative_int, default=4, help="dual: mined per query"
    )
    p.add_argument(
        "--lever-lambda", type=non_negative_float, default=0.5, help="lever: weight of the labels"
    )
    p.add_argument(
        "--lever-topk", type=positive_int, default=10, help="lever: teacher labels per query"
    )
    p.add_argument(
        "--gandalf-threshold",
        type=non_negative_float,
        default=0.1,
        help="gandalf: P(j | i) below which a co-occurring label is dropped",
    )
    p.add_argument("--device", help="torch device (default: cuda if available)")
    add_json_flag(p, "the model folder")
    add_ray_argument(p)
    p.set_defaults(func=_train)

    p = sub.add_parser(
        "predict",
        help="top-k label scores of every test query",
        epilog="Example:\n  skim predict data/ models/ova-base predictions.npz --k 100",
    )
    p.add_argument("dataset", help="dataset directory")
    p.add_argument("model_dir", help="a folder written by skim train")
    p.add_argument("out", type=matrix_path, help="output .npz (N x L, top-k scores per row)")
    p.add_argument("--k", type=positive_int, default=100, help="labels per query")
    p.add_argument(
        "--split", choices=("tst", "trn"), default="tst", help="the test or the train queries"
    )
    p.add_argument(
        "--cache-dir", help="embedding cache (default: $SKIM_CACHE_DIR or ~/.cache/skim)"
    )
    p.add_argument("--device", help="torch device (default: cuda if available)")
    add_json_flag(p, "the written matrix's path and shape")
    add_ray_argument(p)
    p.set_defaults(func=_predict)


def _train(args: argparse.Namespace) -> int:
    from skim.learners import TrainParams, train

    params = TrainParams(
        learner=args.learner,
        method=args.method,
        with_metadata=args.with_metadata,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        encoder=args.encoder,
        cache_dir=args.cache_dir,
        finetune_encoder=args.finetune_encoder,
        device=args.device,
        encoder_lr=args.encoder_lr,
        bottleneck=args.bottleneck,
        temperature=args.temperature,
        hard_negatives=args.hard_negatives,
        lever_lambda=args.lever_lambda,
        lever_topk=args.lever_topk,
        gandalf_threshold=args.gandalf_threshold,
        ray=ray_options(args.ray),
    )
    model_dir = train(args.dataset, args.model_dir, labels=args.labels, params=params)
    print_result({"model_dir": str(model_dir)}, args.json, f"model written to {model_dir}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    from skim._io import check_output
    from skim.data import save_matrix
    from skim.learners import predict

    check_output(args.out)
    scores = predict(
        args.dataset,
        args.model_dir,
        k=args.k,
        split=args.split,
        cache_dir=args.cache_dir,
        device=args.device,
        ray=ray_options(args.ray),
    )
    save_matrix(args.out, scores)
    text = f"{scores.shape[0]} x {scores.shape[1]} predictions ({args.k} per row) -> {args.out}"
    result = {"out": args.out, "rows": scores.shape[0], "labels": scores.shape[1], "k": args.k}
    print_result(result, args.json, text)
    return 0
