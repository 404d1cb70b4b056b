"""What ``skim run`` prints: the text ends with the summary, ``--json`` holds the same one."""

import json

import pytest

from skim.evaluate.report import summary_block, write_report
from skim.pipeline.cli import run_result, run_text


def test_run_json_holds_the_summary_the_text_ends_with(tmp_path, tiny_dataset):
    def row(method, learner, recall):
        return {"method": method, "learner": learner, "metrics": {"unbiased": {"R@100": recall}}}

    results = [
        row("observed + seed", "ova", 0.4),
        row("SKIM (extractive)", "ova", 0.45),
        row("observed + seed", "dual", 0.2),
        row("SKIM (extractive)", "dual", 0.15),
    ]
    manifest = {
        "counts": {"new_pairs": 1234},
        "settings": {"tau": 0.8},
        "tau_estimate": {"tau": 0.8, "precision": 0.25},
    }
    (tmp_path / "metrics.json").write_text(json.dumps(results))
    base = tiny_dataset.trn_X_Y
    report = write_report(tmp_path, tiny_dataset, results, {"extractive": manifest}, {}, {}, base)
    printed = run_result(report)
    assert printed["summary"] == [
        {
            "generator": "extractive",
            "pairs_added": 1234,
            "tau": 0.8,
            "estimated_precision": 0.25,
            "baseline": "observed + seed",
            "gain": {"ova": pytest.approx(5.0), "dual": pytest.approx(-5.0)},
        }
    ]
    assert printed["metrics"] == results and printed["report"] == str(report)
    text = run_text(report)
    assert text.endswith(
        "Pairs added:\n\n- **extractive**: 1,234 pairs added at tau 0.8, estimated precision "
        f"0.250, unbiased R@100 over observed + seed: ova +5.00, dual -5.00.\n\nreport: {report}"
    )
    assert summary_block(report.read_text()) in text
