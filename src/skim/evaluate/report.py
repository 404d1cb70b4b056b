"""``report.md``: the paper's Table 1 layout, mapping counts, examples and recall curves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from skim._io import write_json_atomic, write_text_atomic
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


def gains(results: list[dict[str, Any]]) -> tuple[str, dict[str, dict[str, float]]]:
    """The base row's name and, per SKIM row, its unbiased R@100 gain in points per learner.

    The base row is the first one (observed, or observed + seed); rows named ``SKIM (...)`` are
    judged, those without an unbiased metric left out.
    """
    if not results:
        return "", {}
    base_name = results[0]["method"]
    base = {
        r["learner"]: r["metrics"].get("unbiased", {}).get("R@100")
        for r in results
        if r["method"] == base_name
    }
    out: dict[str, dict[str, float]] = {}
    for name in dict.fromkeys(r["method"] for r in results if r["method"].startswith("SKIM")):
        row = {}
        for r in results:
            value = r["metrics"].get("unbiased", {}).get("R@100")
            if r["method"] == name and value is not None and base.get(r["learner"]) is not None:
                row[r["learner"]] = 100 * (value - base[r["learner"]])
        if row:
            out[name] = row
    return base_name, out


def _shown(row: dict[str, float]) -> str:
    return ", ".join(f"{learner} {gain:+.2f}" for learner, gain in row.items())


def verdict(results: list[dict[str, Any]], target: float = TARGET_GAIN) -> list[str]:
    """One line per SKIM row: its unbiased R@100 gain over the base labels for each learner
    (:func:`gains`), and whether it reaches ``target`` points for every learner without making
    any worse. Returns no line when there is no SKIM row or no unbiased metric.
    """
    base_name, judged = gains(results)
    lines = []
    for name, row in judged.items():
        if all(g >= target for g in row.values()):
            word = f"pays off: at least +{target:g} points for every learner"
        elif all(g == 0 for g in row.values()):  # e.g. every pair filtered out: not a gain
            word = "changes nothing: no learner moved (its mapping section says what it added)"
        elif all(g >= 0 for g in row.values()):
            word = f"helps, but not by +{target:g} points for every learner"
        else:
            word = "makes a learner worse: do not use these pairs as they are"
        lines.append(f"- **{name}** {word} (unbiased R@100 over {base_name}: {_shown(row)}).")
    return lines


SUMMARY_HEAD = "Pairs added:"
SUMMARY_FILE = "summary.json"
"""Beside ``report.md``: the rows of :func:`summary_rows` (what ``skim run --json`` prints)."""


def summary_rows(
    results: list[dict[str, Any]], manifests: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """One row per mapping: ``generator``, ``pairs_added``, ``tau``, ``estimated_precision``
    (the manifest's estimate on the seed rows at the chosen tau; None without seed rows),
    ``baseline`` and ``gain`` (the ``SKIM (gen)`` rows' unbiased R@100 gain in points per
    learner, :func:`gains`; None without one). ``skim run --json`` prints these rows and
    :func:`summary_lines` writes them for a person."""
    base_name, judged = gains(results)
    return [
        {
            "generator": gen,
            "pairs_added": manifest.get("counts", {}).get("new_pairs"),
            "tau": manifest.get("settings", {}).get("tau"),
            "estimated_precision": (manifest.get("tau_estimate") or {}).get("precision"),
            "baseline": base_name,
            "gain": judged.get(f"SKIM ({gen})") or None,
        }
        for gen, manifest in manifests.items()
    ]


def summary_lines(rows: list[dict[str, Any]]) -> list[str]:
    """One line per row of :func:`summary_rows`: the pairs a mapping added, their estimated
    precision at the chosen tau and the gain over the baseline."""
    lines = []
    for row in rows:
        added, tau, precision = row["pairs_added"], row["tau"], row["estimated_precision"]
        text = f"- **{row['generator']}**: {'?' if added is None else f'{added:,}'} pairs added"
        text += "" if tau is None else f" at tau {tau:g}"
        text += (
            ", estimated precision unknown (no seed rows)"
            if precision is None
            else f", estimated precision {precision:.3f}"
        )
        if row["gain"]:
            text += f", unbiased R@100 over {row['baseline']}: {_shown(row['gain'])}"
        lines.append(text + ".")
    return lines


def summary_block(report_text: str) -> str:
    """The :data:`SUMMARY_HEAD` block of a report's text (what ``skim run`` and ``skim demo``
    print last, before the report's path); empty when the report has none."""
    head, found, rest = report_text.partition(SUMMARY_HEAD + "\n\n")
    return (found + rest.split("\n\n")[0]).strip() if found else ""


LINE_STYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "x", "P", "*")


def recall_figure(results: list[dict[str, Any]]):
    """Figure of unbiased (else observed) recall@K against K for every (method, learner).

    Each method has its own line style and each learner its own marker, so curves that
    coincide (e.g. SKIM adding no pair) stay visible instead of hiding one another.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = list(dict.fromkeys(r["method"] for r in results))
    learners = list(dict.fromkeys(r["learner"] for r in results))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in results:
        split = "unbiased" if "unbiased" in r["metrics"] else "observed"
        pts = sorted(
            (int(k.split("@")[1]), v) for k, v in r["metrics"][split].items() if k.startswith("R@")
        )
        if pts:
            ks, vs = zip(*pts, strict=True)
            m, le = methods.index(r["method"]), learners.index(r["learner"])
            ax.plot(
                ks,
                vs,
                color=f"C{m % 10}",
                linestyle=LINE_STYLES[m % len(LINE_STYLES)],
                marker=MARKERS[le % len(MARKERS)],
                markerfacecolor="none" if m % 2 else None,
                alpha=0.85,
                label=f"{r['method']} / {r['learner']}",
            )
    ax.set_xscale("log")
    ax.set_xlabel("K")
    ax.set_ylabel("recall@K (unbiased test labels)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_recall_curves(results: list[dict[str, Any]], path: Path) -> Path | None:
    """PNG of :func:`recall_figure` at ``path``."""
    return _save(recall_figure(results), path)


def tau_figure(table: list[dict[str, Any]], name: str, chosen: float | None = None):
    """Figure of a mapping's estimated precision and recovery (on the seed rows) against tau,
    from its manifest's tau table (a fixed tau's sweep or the one "auto" chose from), the tau
    used (``chosen``) marked; ``None`` when the table has no estimate."""
    rows = [r for r in table if r.get("precision") is not None]
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    taus = [r["tau"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(taus, [r["precision"] for r in rows], "-o", ms=3, label="est. precision")
    ax.plot(taus, [r.get("recovered") or 0 for r in rows], "--s", ms=3, label="est. recovery")
    if chosen is not None:
        ax.axvline(chosen, color="grey", linestyle=":", label=f"tau used {chosen:g}")
    ax.set_xlabel("tau")
    ax.set_ylabel("fraction (seed rows)")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"tau sweep: {name}")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


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


def why_nothing(manifest: dict[str, Any]) -> str:
    """Why a mapping added no pair, from its manifest's counts: no usable text, nothing at
    tau, the vote or agreement filters, or only pairs already observed."""
    if manifest.get("added_nothing"):
        return str(manifest["added_nothing"])
    counts = manifest.get("counts", {})
    tau = manifest.get("settings", {}).get("tau")
    at_tau = "" if tau is None else f" tau = {tau:g}"
    removed = {k: counts.get(f"removed_by_{k}", 0) for k in ("votes", "agreement")}
    if counts.get("texts_used", 1) == 0:
        return (
            f"no generated text was usable ({counts.get('empty_skipped', 0)} empty, "
            f"{counts.get('duplicate_skipped', 0)} duplicate)"
        )
    if counts.get("pairs_kept", 0) == 0:
        filtered = ", ".join(f"{n:,} removed by {k}" for k, n in removed.items() if n)
        if counts.get("pairs_proposed", 0) == 0:
            return f"no neighbour scored at least{at_tau}" + (f" ({filtered})" if filtered else "")
        return (
            f"{counts['pairs_proposed']:,} neighbours scored at least{at_tau}, but the filters "
            f"left none ({filtered or 'no filter count recorded'})"
        )
    if counts.get("new_pairs", 0) == 0:
        return f"all {counts['pairs_kept']:,} kept pairs were already observed"
    return ""


def _manifest_examples(dataset: Dataset, manifest: dict[str, Any], count: int) -> list[str]:
    """The manifest's first generated texts with the targets they scored at least tau (kept,
    before the vote and agreement filters) and their best neighbours below tau, with scores."""
    direction = manifest.get("settings", {}).get("direction", "queries-to-labels")
    truth = dataset.trn_X_Y_unbiased

    def shown(pairs: list) -> str:
        names = []
        for i, j, score in pairs[:5]:
            other = dataset.trn_texts[i] if direction == "labels-to-queries" else None
            other = other or dataset.label_texts[j]
            mark = "" if truth is None else (", true" if truth[i, j] > 0 else ", not true")
            names.append(f"{other} ({score:.3f}{mark})")
        return ", ".join(names) or "none"

    lines = []
    for ex in (manifest.get("examples") or [])[:count]:
        src = ex["source"]
        name = dataset.label_texts[src] if direction == "labels-to-queries" else None
        name = name or dataset.trn_texts[src]
        text = f"- **{name}**: generated *{ex['text']}* -> at tau: {shown(ex['pairs'])}"
        if ex.get("rejected"):
            text += f"; best below tau: {shown(ex['rejected'])}"
        lines.append(text)
    return lines


def examples_section(
    dataset: Dataset,
    gen: str,
    manifest: dict[str, Any],
    synthetic: Path | None,
    mapped: sp.csr_matrix | None,
    base: sp.csr_matrix,
) -> list[str]:
    """The ``## Examples`` section of one mapping, never empty: the records whose source gained
    pairs, or why none did; then the first texts' scored neighbours from the manifest."""
    added = []
    if synthetic is not None and mapped is not None and Path(synthetic).exists():
        added = _examples(dataset, Path(synthetic), mapped, base)
    parts = [f"## Examples: {gen}", ""]
    reason = why_nothing(manifest)
    if added:
        parts += ["Generated texts and the new pairs their source gained:", "", *added, ""]
    else:
        parts += [f"No pair was added: {reason or 'no record gained a new pair'}.", ""]
    scored = _manifest_examples(dataset, manifest, 5 if added else 10)
    if scored:
        parts += [
            "The first generated texts, scored before the vote and agreement filters "
            "(score = (cos + 1) / 2):",
            "",
            *scored,
            "",
        ]
    elif not added:
        parts += ["(the mapping's manifest holds no example texts)", ""]
    return parts


def write_report(
    out: Path,
    dataset: Dataset,
    results: list[dict[str, Any]],
    manifests: dict[str, dict[str, Any]],
    synthetic: dict[str, Path],
    mapped: dict[str, Path],
    base: sp.csr_matrix,
) -> Path:
    """Write ``out/report.md`` (with ``out/recall.png``, a ``tau-<gen>.png`` per mapping with
    a tau table and :data:`SUMMARY_FILE`); return the report's path."""
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
    rows = summary_rows(results, manifests)
    write_json_atomic(out / SUMMARY_FILE, rows)
    if rows:
        parts += [SUMMARY_HEAD, "", *summary_lines(rows), ""]
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
        sweep = tau_figure(manifest.get("tau_table") or [], gen, settings.get("tau"))
        if sweep is not None:
            sweep_path = _save(sweep, out / f"tau-{gen}.png")
            parts += [f"![tau sweep: {gen}]({sweep_path.name})", ""]
        estimate = manifest.get("tau_estimate") or {}
        for key in ("precision", "recovered"):
            if estimate.get(key) is not None:
                parts.append(f"- estimated {key} on the seed rows: {estimate[key]:.3f}")
        parts.append("")
    for gen in dict.fromkeys([*manifests, *synthetic]):
        matrix = load_matrix(mapped[gen]) if gen in mapped and Path(mapped[gen]).exists() else None
        parts += examples_section(
            dataset, gen, manifests.get(gen, {}), synthetic.get(gen), matrix, base
        )
    report = out / "report.md"
    write_text_atomic(report, "\n".join(parts) + "\n")
    return report
