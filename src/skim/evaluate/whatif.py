"""The what-if curve: how good must SKIM's pairs be before they pay off on a dataset?

For a dataset with complete train labels, a SIMULATED generator
(:func:`skim.simulate.generator.simulate_generator`) adds pairs of a chosen precision and
recovery to the known labels (observed + seed); each learner is trained on them and scored on
the unbiased test labels. The gain in unbiased R@100 over the same learner on the known labels
alone, on a grid of (precision, recovery), tells a user which teacher + student quality SKIM
needs on their data. Real generators' label files can be measured on the same axes and plotted
on the curve. The simulated points read the answers: they are never SKIM results.

Every fit is a resumable stage (:func:`skim.stage.run_stage`) under ``out``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skim._io import write_json_atomic, write_text_atomic
from skim._params import StageParams
from skim.data import Dataset, as_dataset, load_matrix, save_matrix
from skim.errors import DatasetError, SkimError
from skim.evaluate.params import EvaluateParams
from skim.evaluate.report import TARGET_GAIN
from skim.learners.params import TrainParams
from skim.simulate.generator import (
    SIMULATED,
    check_rates,
    label_recovery_rates,
    pair_quality,
    simulate_generator,
)

DEFAULT_PRECISIONS = (0.2, 0.4, 0.6, 0.8, 1.0)
DEFAULT_RECOVERIES = (0.1, 0.25, 0.5)
METRIC = "R@100"
Log = Callable[[str], None]


@dataclass
class WhatifParams(StageParams):
    """Settings of :func:`whatif_curve`.

    Parameters
    ----------
    precisions, recoveries
        The grid of the simulated generator.
    learners
        The learners trained on every point.
    epochs
        Epochs per learner (e.g. ``{"ova": 2, "dual": 3}``); a learner not named uses train's
        default.
    encoder
        Encoder of the label texts whose nearest labels are the simulated wrong ones (default:
        the bundled all-MiniLM-L6-v2).
    seed
        Seed of the simulated pairs and of every fit.
    train_options
        Further :class:`~skim.learners.params.TrainParams` fields (e.g. ``encoder``,
        ``batch_size``); ``encoder``, ``cache_dir`` and ``device`` also go to
        :func:`skim.learners.predict`.
    like
        A real generator's training labels: the simulated correct pairs are then drawn with
        its per-label recovery rates (:func:`label_recovery_rates`), on the labels it reaches,
        instead of a uniform share of each query's missing labels.
    """

    precisions: Sequence[float] = DEFAULT_PRECISIONS
    recoveries: Sequence[float] = DEFAULT_RECOVERIES
    learners: Sequence[str] = ("ova", "dual")
    epochs: dict[str, int] | None = None
    encoder: Any = None
    seed: int = 0
    train_options: dict[str, Any] | None = None
    like: str | os.PathLike | None = None


def _slug(precision: float, recovery: float) -> str:
    return f"simulated-p{precision:g}-r{recovery:g}"


def whatif_curve(
    dataset: Dataset | str | os.PathLike,
    out: str | os.PathLike,
    base: str | os.PathLike | None = None,
    measured: dict[str, str | os.PathLike] | None = None,
    params: WhatifParams | None = None,
    *,
    run: str | os.PathLike | None = None,
    log: Log = print,
    **settings: Any,
) -> list[dict[str, Any]]:
    """Gain in unbiased R@100 against (precision, recovery) of a simulated generator.

    Parameters
    ----------
    dataset
        A dataset (or its folder) with ``trn_X_Y_unbiased`` and ``tst_X_Y_unbiased``.
    out
        Folder of the label files, models, ``whatif.json``, ``whatif.md`` and ``whatif.png``.
    base
        The known labels SKIM adds to (e.g. a run's ``demos.seed.npz``: observed + seed);
        None: the dataset's ``trn_X_Y``.
    measured
        Real generators' training labels (name -> matrix file, known labels included, e.g. a
        run's ``trn_X_Y_skim-extractive.npz``): their precision, recovery and gain are measured
        and put on the curve.
    params, **settings
        A :class:`WhatifParams` (the grid, learners, epochs, seed, ...), and any of its fields
        as keywords, which override it.
    run
        A finished ``skim run`` folder: a baseline or measured row whose model the run already
        trained (same settings, labels of the same content) is scored from the run's
        predictions instead of trained again.

    Returns
    -------
    list of dict
        One row per point: ``kind`` ("baseline", "simulated" or "measured"), ``name``,
        ``precision``, ``recovery``, ``new_pairs`` and per learner its metrics and ``gain``.
    """
    p = WhatifParams.build(params, "whatif_curve", **settings)
    ds = as_dataset(dataset)
    if ds.trn_X_Y_unbiased is None or ds.tst_X_Y_unbiased is None:
        raise DatasetError(
            f"{ds.path or 'the dataset'}: the what-if curve needs the complete labels "
            "trn_X_Y_unbiased.npz and tst_X_Y_unbiased.npz"
        )
    for precision in p.precisions:
        for recovery in p.recoveries:
            check_rates(precision, recovery)
    out = Path(out)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    known = load_matrix(base) if base is not None else ds.trn_X_Y
    if known.shape != ds.trn_X_Y_unbiased.shape:
        raise SkimError(
            f"{base}: {known.shape} labels, the dataset's train labels are "
            f"{ds.trn_X_Y_unbiased.shape}"
        )
    base_path = out / "labels" / "base.npz"
    save_matrix(base_path, known)
    scorer = _Scorer(ds, out, p, None if run is None else Path(run), log)
    truth = ds.trn_X_Y_unbiased
    quality = pair_quality(known, known, truth)
    rows = [scorer.row("baseline", "known labels (observed + seed)", base_path, quality)]
    for path, quality in _simulated_points(ds, out, known, p):
        rows.append(scorer.row("simulated", SIMULATED, path, quality))
    for name, path in (measured or {}).items():
        labels = load_matrix(path)
        copy = out / "labels" / f"measured-{re.sub(r'[^A-Za-z0-9._-]+', '-', name)}.npz"
        save_matrix(copy, labels)
        rows.append(scorer.row("measured", name, copy, pair_quality(labels, known, truth)))
    for entry in rows:
        for learner in p.learners:
            entry[learner]["gain"] = entry[learner][METRIC] - rows[0][learner][METRIC]
    write_json_atomic(out / "whatif.json", rows)
    plot_whatif(rows, p.learners, out / "whatif.png")
    write_text_atomic(out / "whatif.md", whatif_markdown(rows, p.learners))
    return rows


def _simulated_points(ds: Dataset, out: Path, known: Any, p: WhatifParams):
    """Each grid point's labels file (known labels + simulated pairs) and its pair quality."""
    from skim.encode import encode_texts, resolve_encoder

    truth = ds.trn_X_Y_unbiased
    label_vecs = None
    weights = None if p.like is None else label_recovery_rates(load_matrix(p.like), known, truth)
    tag = "" if p.like is None else "-like-" + re.sub(r"[^A-Za-z0-9._-]+", "-", Path(p.like).stem)
    for precision in p.precisions:
        for recovery in p.recoveries:
            path = out / "labels" / f"{_slug(precision, recovery)}{tag}.npz"
            if label_vecs is None:
                device = (p.train_options or {}).get("device")
                encoder = resolve_encoder(p.encoder, **({"device": device} if device else {}))
                label_vecs = encode_texts(encoder, ds.label_texts)
            pairs, info = simulate_generator(
                truth, known, precision, recovery, label_vecs=label_vecs, seed=p.seed,
                label_weights=weights,
            )  # fmt: skip
            save_matrix(path, (known + pairs).tocsr())
            quality = pair_quality(known + pairs, known, truth)
            quality.update(
                asked_precision=precision,
                asked_recovery=recovery,
                random_wrong_pairs=info["random_wrong_pairs"],
                label_mix=None if p.like is None else str(p.like),
            )
            yield path, quality


class _Scorer:
    """Each learner's unbiased metrics on one labels file: fitted with the step ``skim run``
    uses (:mod:`skim.evaluate.fit`), or read from ``run``'s predictions when it has them."""

    def __init__(self, ds: Dataset, out: Path, p: WhatifParams, run: Path | None, log: Log):
        self.ds, self.out, self.p, self.run, self.log = ds, out, p, run, log

    def params(self, learner: str) -> TrainParams:
        epochs = dict(self.p.epochs or {})
        extra = {"epochs": epochs[learner]} if learner in epochs else {}
        options = dict(self.p.train_options or {})
        return TrainParams.build(
            None, "train", learner=learner, seed=self.p.seed, **extra, **options
        )

    def row(self, kind: str, name: str, labels: Path, quality: dict[str, Any]) -> dict[str, Any]:
        entry: dict[str, Any] = {"kind": kind, "name": name, **quality}
        for learner in self.p.learners:
            entry[learner] = self.score(kind, name, labels, learner)
        return entry

    def score(self, kind: str, name: str, labels: Path, learner: str) -> dict[str, float]:
        from skim.evaluate.fit import score, score_model, scored_predictions, train_model

        params = self.params(learner)
        if self.run is not None and kind != "simulated":
            found = scored_predictions(self.run, labels, params, max(_SCORED.k))
            if found is not None:
                self.log(f"[whatif {name} / {learner}] scored from {found}")
                return score(self.ds, found, _SCORED)["unbiased"]
        model_dir = train_model(
            self.out, self.ds, labels, params, f"{labels.stem}-{learner}", self.log
        )
        runtime = {k: getattr(params, k) for k in ("encoder", "cache_dir", "device")}
        runtime = {k: v for k, v in runtime.items() if v is not None}
        return score_model(
            self.out, self.ds, model_dir, _SCORED, self.log, show_progress=False, **runtime
        )["unbiased"]


_SCORED = EvaluateParams(k=[5, 100])  # the cut-offs scored: METRIC's and P@5


def break_even(rows: list[dict[str, Any]], learner: str, gain: float = 0.0) -> dict[float, Any]:
    """Per recovery, the lowest simulated precision whose gain is above ``gain`` (percent
    points of unbiased R@100) at it and at every higher precision; None when none is."""
    out: dict[float, Any] = {}
    sims = [r for r in rows if r["kind"] == "simulated"]
    for rec in sorted({r["asked_recovery"] for r in sims}):
        line = sorted(
            (r for r in sims if r["asked_recovery"] == rec), key=lambda r: r["asked_precision"]
        )
        best = None
        for r in reversed(line):
            if 100 * r[learner]["gain"] <= gain:
                break
            best = r["asked_precision"]
        out[rec] = best
    return out


def whatif_markdown(rows: list[dict[str, Any]], learners: Sequence[str]) -> str:
    """The curve as a markdown table (percent), then the break-even precision per recovery."""
    head = " | ".join(f"{learner} {METRIC} | {learner} gain" for learner in learners)
    lines = [
        f"| point | precision | recovery | new pairs | {head} |",
        "|---|---:|---:|---:|" + "---:|---:|" * len(learners),
    ]
    for r in rows:
        name = {"simulated": "simulated", "baseline": r["name"]}.get(
            r["kind"], f"real: {r['name']}"
        )
        prec = "-" if r["precision"] is None else f"{100 * r['precision']:.1f}"
        rec = "-" if r["recovery"] is None else f"{100 * r['recovery']:.1f}"
        cells = " | ".join(
            f"{100 * r[lr][METRIC]:.2f} | {100 * r[lr]['gain']:+.2f}" for lr in learners
        )
        lines.append(f"| {name} | {prec} | {rec} | {r['new_pairs']:,} | {cells} |")
    lines.append("")
    lowest = min((r["asked_precision"] for r in rows if r["kind"] == "simulated"), default=None)
    for learner in learners:
        for target in (0.0, TARGET_GAIN):
            found = break_even(rows, learner, target)
            text = "; ".join(
                f"recovery {100 * rec:g}%: "
                + ("never on this grid" if p is None else f"precision >= {100 * p:g}%")
                + (" (the lowest tried)" if p is not None and p == lowest else "")
                for rec, p in found.items()
            )
            lines.append(f"- {learner}, a gain above {target:+g} points: {text}")
    lines.append(f"\nSimulated rows: {SIMULATED}.")
    return "\n".join(lines) + "\n"


def plot_whatif(rows: list[dict[str, Any]], learners: Sequence[str], path: Path) -> Path:
    """One panel per learner: gain against precision, a line per recovery, real points marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(learners), figsize=(5 * len(learners), 4), squeeze=False)
    sims = [r for r in rows if r["kind"] == "simulated"]
    for ax, learner in zip(axes[0], learners, strict=True):
        for rec in sorted({r["asked_recovery"] for r in sims}):
            line = sorted(
                (r for r in sims if r["asked_recovery"] == rec), key=lambda r: r["precision"] or 0
            )
            ax.plot(
                [100 * r["precision"] for r in line],
                [100 * r[learner]["gain"] for r in line],
                marker="o",
                label=f"simulated, recovery {100 * rec:g}%",
            )
        for r in rows:
            if r["kind"] == "measured" and r["precision"] is not None:
                x, y = 100 * r["precision"], 100 * r[learner]["gain"]
                ax.scatter([x], [y], marker="*", s=160, color="black", zorder=3)
                ax.annotate(
                    f"{r['name']} (recovery {100 * r['recovery']:.1f}%)",
                    (x, y),
                    textcoords="offset points",
                    xytext=(5, 5),
                    fontsize=8,
                )
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xlabel("precision of the added pairs (%)")
        ax.set_ylabel(f"gain in unbiased {METRIC} (points)")
        mix = next((r.get("label_mix") for r in sims if r.get("label_mix")), None)
        suffix = f",\nlabel mix of {Path(mix).stem}" if mix else ""
        ax.set_title(f"{learner}: what-if (simulated generator{suffix})", fontsize=10)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def parse_floats(text: str, name: str) -> list[float]:
    """Comma-separated numbers of a CLI option, or a one-sentence error naming ``name``."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise SkimError(f"{name} must be comma-separated numbers, got {text!r}") from None
    if not values:
        raise SkimError(f"{name} needs at least one number")
    return values


__all__ = [
    "WhatifParams",
    "break_even",
    "parse_floats",
    "plot_whatif",
    "whatif_curve",
    "whatif_markdown",
]
