"""``skim train`` and ``skim predict``: thin calls of :mod:`skim.learners`."""

from __future__ import annotations

import argparse

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
    p = sub.add_parser("train", help="train an XC learner (ova or dual) on a dataset's labels")
    p.add_argument("dataset", help="dataset directory")
    p.add_argument("model_dir", help="output folder (model.safetensors + skim_model.json)")
    p.add_argument(
        "--learner", choices=LEARNERS, default="ova", help=LEARNERS.help_text() + " (default: ova)"
    )
    p.add_argument("--labels", help="training labels (default: the dataset's trn_X_Y.npz)")
    p.add_argument(
        "--method", choices=METHODS, default="none", help=METHODS.help_text() + " (default: none)"
    )
    p.add_argument("--with-metadata", action="store_true", help="append query metadata to text")
    p.add_argument("--epochs", type=positive_int, default=3)
    p.add_argument("--batch-size", type=positive_int, default=512)
    p.add_argument(
        "--lr",
        type=positive_float,
        help="default: "
        + ", ".join(f"{entry.lr:g} for {name}" for name, entry in LEARNERS.items()),
    )
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--encoder", help="sentence-transformers name or path (default: MiniLM)")
    p.add_argument("--cache-dir", help="embedding cache (default: $SKIM_CACHE_DIR)")
    p.add_argument("--finetune-encoder", action="store_true", help="train the encoder too (GPU)")
    p.add_argument("--encoder-lr", type=positive_float, default=2e-5)
    p.add_argument("--bottleneck", type=positive_int, help="ova: width of a bottleneck layer")
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
    p.add_argument("--gandalf-threshold", type=non_negative_float, default=0.1)
    p.add_argument("--device", help="torch device (default: cuda if available)")
    add_ray_argument(p)
    p.set_defaults(func=_train)

    p = sub.add_parser("predict", help="top-k label scores of every test query")
    p.add_argument("dataset", help="dataset directory")
    p.add_argument("model_dir", help="a folder written by skim train")
    p.add_argument("out", type=matrix_path, help="output .npz (N x L, top-k scores per row)")
    p.add_argument("--k", type=positive_int, default=100, help="labels per query (default 100)")
    p.add_argument("--split", choices=("tst", "trn"), default="tst")
    p.add_argument("--cache-dir", help="embedding cache (default: $SKIM_CACHE_DIR)")
    p.add_argument("--device", help="torch device (default: cuda if available)")
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
    print(f"model written to {model_dir}")
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
    print(f"{scores.shape[0]} x {scores.shape[1]} predictions ({args.k} per row) -> {args.out}")
    return 0
