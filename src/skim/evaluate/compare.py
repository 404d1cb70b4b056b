"""compare.md, compare.json and compare.png: methods side by side (paper Tables 1, 8-9)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from skim._io import write_json_atomic, write_text_atomic
from skim.evaluate.report import metric_table

COMPARE_COLUMNS = (
    ("observed", "P@5"),
    ("observed", "R@10"),
    ("observed", "R@25"),
    ("observed", "R@100"),
    ("unbiased", "P@5"),
    ("unbiased", "R@10"),
    ("unbiased", "R@25"),
    ("unbiased", "R@100"),
    ("unbiased", "PSP@5"),
)


def comparison_table(results: list[dict[str, Any]]) -> str:
    """Markdown: one row per method, a block of rows per learner; metrics in percent."""
    learners = dict.fromkeys(r["learner"] for r in results)
    grouped = [r for learner in learners for r in results if r["learner"] == learner]
    return metric_table(grouped, ("learner", "method"), COMPARE_COLUMNS)


def plot_comparison(results: list[dict[str, Any]], path: Path, metric: str = "R@100") -> Path:
    """Grouped bars: methods on the x axis, one bar per learner, unbiased ``metric``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    methods = list(dict.fromkeys(r["method"] for r in results))
    learners = list(dict.fromkeys(r["learner"] for r in results))
    width = 0.8 / max(len(learners), 1)
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(methods)), 4))
    for n, learner in enumerate(learners):
        values = []
        for method in methods:
            match = [r for r in results if r["method"] == method and r["learner"] == learner]
            split = "unbiased" if match and "unbiased" in match[0]["metrics"] else "observed"
            values.append(100 * match[0]["metrics"][split].get(metric, 0.0) if match else 0.0)
        ax.bar(np.arange(len(methods)) + n * width, values, width, label=learner)
    ax.set_xticks(np.arange(len(methods)) + width * (len(learners) - 1) / 2)
    ax.set_xticklabels(methods, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(f"unbiased {metric} (%)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_comparison(out: Path, results: list[dict[str, Any]]) -> Path:
    """Write compare.md, compare.json and compare.png under ``out``; return compare.md."""
    out = Path(out)
    write_json_atomic(out / "compare.json", results)
    plot = plot_comparison(results, out / "compare.png")
    text = (
        "# Method comparison\n\n" + comparison_table(results) + f"\n\n![comparison]({plot.name})\n"
    )
    write_text_atomic(out / "compare.md", text)
    return out / "compare.md"
