"""``report.md``: the paper's Table 1 layout, mapping counts, examples and recall curves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from skim._io import write_text_atomic
from skim.data import Dataset

TABLE_COLUMNS = (
    ("unbiased", "R@10"),
    ("unbiased", "R@25"),
    ("unbiased", "R@100"),
    ("unbiased", "P@5"),
    ("observed", "P@5"),
    ("observed", "R@100"),
)


def metric_table(
    results: list[dict[str, Any]], keys: tuple[str, ...], columns: tuple[tuple[str, str], ...]
) -> str:
    """Markdown table: the rows' ``keys``, then each (split, metric) of ``columns`` in percent."""
    head = " | ".join(f"{'biased' if s == 'observed' else s} {m}" for s, m in columns)
    lines = [f"| {' | '.join(keys)} | {head} |", "|" + "---|" * len(keys) + "---:|" * len(columns)]
    for r in results:
        cells = [str(r[key]) for key in keys]
        for split, metric in columns:
            value = r["metrics"].get(split, {}).get(metric)
            cells.append("-" if value is None else f"{100 * value:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def results_table(results: list[dict[str, Any]]) -> str:
    """Markdown table: one row per (method, learner), metrics in percent."""
    return metric_table(results, ("method", "learner"), TABLE_COLUMNS)


TARGET_GAIN = 3.0  # points of unbiased R@100 (issue 11's bar for "SKIM pays off")


def verdict(results: list[dict[str, Any]], target: float = TARGET_GAIN) -> list[str]:
    """One line per SKIM row: its unbiased R@100 gain over the base labels for each learner,
    and whether it reaches ``target`` points for every learner without making any worse.

    The base row is the first one (observed, or observed + seed); rows named ``SKIM (...)`` are
    judged. Returns no line when there is no SKIM row or no unbiased metric.
    """
    if not results:
        return []
    base_name = results[0]["method"]
    base = {
        r["learner"]: r["metrics"].get("unbiased", {}).get("R@100")
        for r in results
        if r["method"] == base_name
    }
    lines = []
    for name in dict.fromkeys(r["method"] for r in results if r["method"].startswith("SKIM")):
        gains = {}
        for r in results:
            value = r["metrics"].get("unbiased", {}).get("R@100")
            if r["method"] == name and value is not None and base.get(r["learner"]) is not None:
                gains[r["learner"]] = 100 * (value - base[r["learner"]])
        if not gains:
            continue
        shown = ", ".join(f"{learner} {gain:+.2f}" for learner, gain in gains.items())
        if all(g >= target for g in gains.values()):
            word = f"pays off: at least +{target:g} points for every learner"
        elif all(g >= 0 for g in gains.values()):
            word = f"helps, but not by +{target:g} points for every learner"
        else:
            word = "makes a learner worse: do not use these pairs as they are"
        lines.append(f"- **{name}** {word} (unbiased R@100 over {base_name}: {shown}).")
    return lines


def plot_recall_curves(results: list[dict[str, Any]], path: Path) -> Path | None:
    """PNG of unbiased (else observed) recall@K against K for every (method, learner)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in results:
        split = "unbiased" if "unbiased" in r["metrics"] else "observed"
        pts = sorted(
            (int(k.split("@")[1]), v) for k, v in r["metrics"][split].items() if k.startswith("R@")
        )
        if pts:
            ks, vs = zip(*pts, strict=True)
            ax.plot(ks, vs, marker="o", label=f"{r['method']} / {r['learner']}")
    ax.set_xscale("log")
    ax.set_xlabel("K")
    ax.set_ylabel("recall@K (unbiased test labels)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _examples(
    dataset: Dataset, synthetic: Path, mapped: sp.csr_matrix, base: sp.csr_matrix, count: int = 10
) -> list[str]:
    """Ten synthetic records with the new pairs their source gained (queries-to-labels rows)."""
    new = (mapped > 0).astype(np.int8) - (base > 0).astype(np.int8)
    new = sp.csr_matrix(new > 0)
    truth = dataset.trn_X_Y_unbiased
    lines = []
    with open(synthetic, encoding="utf-8") as handle:
        for line in handle:
            rec = json.loads(line)
            direction = rec.get("direction", "queries-to-labels")
            src = int(rec["source"])
            if direction == "labels-to-queries":
                cols = np.flatnonzero(new[:, src].toarray().ravel())[:5]
                pairs = [(int(i), src) for i in cols]
                name = dataset.label_texts[src]
            else:
                cols = new.indices[new.indptr[src] : new.indptr[src + 1]][:5]
                pairs = [(src, int(j)) for j in cols]
                name = dataset.trn_texts[src]
            if not pairs:
                continue
            texts = "; ".join(rec["texts"][:4])
            shown = []
            for i, j in pairs:
                other = (
                    dataset.label_texts[j]
                    if direction != "labels-to-queries"
                    else dataset.trn_texts[i]
                )
                mark = ""
                if truth is not None:
                    mark = " (true)" if truth[i, j] > 0 else " (not true)"
                shown.append(f"{other}{mark}")
            lines.append(f"- **{name}**: generated *{texts}* -> added: {', '.join(shown)}")
            if len(lines) >= count:
                break
    return lines


def write_report(
    out: Path,
    dataset: Dataset,
    results: list[dict[str, Any]],
    manifests: dict[str, dict[str, Any]],
    synthetic: dict[str, Path],
    mapped: dict[str, Path],
    base: sp.csr_matrix,
) -> Path:
    """Write ``out/report.md`` (and ``out/recall.png``); return the report's path."""
    from skim.data import load_matrix
    from skim.evaluate.scoring import empty_rows_note

    out = Path(out)
    mode_known = bool(results) and "empty_rows" in results[0]  # metrics.json before issue 14
    plot = plot_recall_curves(results, out / "recall.png")
    parts = [
        "# SKIM report",
        "",
        f"Dataset: `{dataset.path}` ({dataset.n_trn:,} train / {dataset.n_tst:,} test queries, "
        f"{dataset.n_labels:,} labels). Metrics in percent; *unbiased* = complete test labels, "
        "*biased* = the observed (clicked) test labels.",
        "",
        *([empty_rows_note(dataset, results[0]["empty_rows"]), ""] if mode_known else []),
        results_table(results),
        "",
    ]
    judged = verdict(results)
    if judged:
        parts += ["Verdict:", "", *judged, ""]
    if plot is not None:
        parts += [f"![unbiased recall@K]({plot.name})", ""]
    for gen, manifest in manifests.items():
        counts = manifest.get("counts", {})
        parts += [f"## Mapping: {gen}", ""]
        parts += [f"- {k.replace('_', ' ')}: {v}" for k, v in counts.items()]
        settings = manifest.get("settings", {})
        parts += [f"- {k}: {settings[k]}" for k in ("tau", "topk", "encoder") if k in settings]
        if manifest.get("added_nothing"):
            parts.append(f"- no pairs added: {manifest['added_nothing']}")
        table = [r for r in manifest.get("tau_table") or [] if r.get("precision") is not None]
        if table:
            parts += [
                "",
                "| tau | new pairs | est. precision | est. recovered |",
                "|---|---:|---:|---:|",
            ]
            parts += [
                f"| {r['tau']:g} | {r['new_pairs']:,} | {r['precision']:.3f} | "
                f"{r.get('recovered') or 0:.3f} |"
                for r in table
                if round(r["tau"] * 100) % 5 == 0
            ]
            parts.append("")
        estimate = manifest.get("tau_estimate") or {}
        for key in ("precision", "recovered"):
            if estimate.get(key) is not None:
                parts.append(f"- estimated {key} on the seed rows: {estimate[key]:.3f}")
        parts.append("")
    for gen, path in synthetic.items():
        if gen in mapped and Path(path).exists():
            examples = _examples(dataset, Path(path), load_matrix(mapped[gen]), base)
            parts += [f"## Examples: {gen}", "", *examples, ""]
    report = out / "report.md"
    write_text_atomic(report, "\n".join(parts) + "\n")
    return report
