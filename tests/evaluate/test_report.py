import json

import numpy as np
import scipy.sparse as sp

from skim.evaluate.compare import comparison_table, write_comparison
from skim.evaluate.report import (
    recall_figure,
    results_table,
    summary_block,
    verdict,
    write_report,
)


def _results():
    def m(v):
        keys = ["P@5", "R@10", "R@25", "R@100", "PSP@5"]
        return {k: v for k in keys} | {"R@1": v / 2}

    return [
        {
            "method": "observed + seed",
            "learner": "ova",
            "metrics": {"observed": m(0.5), "unbiased": m(0.4)},
        },
        {
            "method": "SKIM (extractive)",
            "learner": "ova",
            "metrics": {"observed": m(0.5), "unbiased": m(0.45)},
        },
        {
            "method": "observed + seed",
            "learner": "dual",
            "metrics": {"observed": m(0.3), "unbiased": m(0.2)},
        },
    ]


def test_results_table_has_paper_columns_in_percent():
    lines = results_table(_results()).splitlines()
    assert lines[0] == (
        "| method | learner | unbiased R@10 | unbiased R@25 | unbiased R@100 | unbiased P@5 "
        "| biased P@5 | biased R@100 |"
    )
    assert lines[3] == "| SKIM (extractive) | ova | 45.00 | 45.00 | 45.00 | 45.00 | 50.00 | 50.00 |"


def test_comparison_groups_by_learner_and_writes_three_files(tmp_path):
    table = comparison_table(_results()).splitlines()
    assert [line.split(" | ")[0] for line in table[2:]] == ["| ova", "| ova", "| dual"]
    assert table[0].count("|") == 12  # learner, method and nine metric columns
    path = write_comparison(tmp_path, _results())
    assert path.read_text().startswith("# Method comparison")
    assert json.loads((tmp_path / "compare.json").read_text()) == _results()
    assert (tmp_path / "compare.png").read_bytes()[:4] == b"\x89PNG"


def test_report_lists_new_pairs_with_truth_marks(tmp_path, tiny_dataset):
    synthetic = tmp_path / "syn.jsonl"
    synthetic.write_text(json.dumps({"source": 0, "texts": ["nucleic acid"]}) + "\n")
    base = tiny_dataset.trn_X_Y
    mapped = base.tolil()
    mapped[0, 1] = 0.9  # true for query 0
    mapped[0, 3] = 0.85  # not true
    from skim.data import save_matrix

    save_matrix(tmp_path / "skim.npz", sp.csr_matrix(mapped))
    manifest = {
        "counts": {"new_pairs": 2},
        "settings": {"tau": 0.8},
        "tau_table": [
            {"tau": 0.8, "new_pairs": 1200, "precision": 0.05, "recovered": 0.3},
            {"tau": 0.81, "new_pairs": 1100, "precision": 0.06, "recovered": 0.29},
            {"tau": 0.85, "new_pairs": 900, "precision": None, "recovered": None},
        ],
        "tau_estimate": {"tau": 0.8, "precision": 0.05, "recovered": 0.3},
        "examples": [
            {"source": 0, "text": "nucleic acid", "pairs": [[0, 1, 0.9]], "rejected": [[0, 2, 0.7]]}
        ],
    }
    results = [row | {"empty_rows": "skip"} for row in _results()]
    report = write_report(
        tmp_path,
        tiny_dataset.replace(tst_X_Y=sp.csr_matrix((2, 4), dtype=np.float32)),
        results,
        {"extractive": manifest},
        {"extractive": synthetic},
        {"extractive": tmp_path / "skim.npz"},
        base,
    )
    text = report.read_text()
    assert "| SKIM (extractive) | ova |" in text and "- new pairs: 2" in text
    assert "- tau: 0.8" in text
    assert (
        "Test rows without a true label: 2 of 2 (observed), 0 of 2 (unbiased); "
        "empty_rows = skip, skipped: P@k, R@k and nDCG@k average the other rows" in text
    )
    assert "| 0.8 | 1,200 | 0.050 | 0.300 |" in text  # every 0.05 of tau, measured rows only
    assert "| 0.81 |" not in text and "| 0.85 |" not in text
    assert (
        "**exon**: generated *nucleic acid* -> added: nucleic acid (true), part (not true)" in text
    )
    assert (tmp_path / "recall.png").exists()
    assert np.isclose(base[0, 0], 1.0)
    # the first texts' scores from the manifest, kept and best rejected
    assert (
        "- **exon**: generated *nucleic acid* -> at tau: nucleic acid (0.900, true); "
        "best below tau: unit (0.700, not true)" in text
    )
    # the tau sweep is drawn beside recall.png and linked
    assert (tmp_path / "tau-extractive.png").read_bytes()[:4] == b"\x89PNG"
    assert "![tau sweep: extractive](tau-extractive.png)" in text
    # what the run prints last: pairs added, estimated precision, the gain over the base row
    assert summary_block(text) == (
        "Pairs added:\n\n- **extractive**: 2 pairs added at tau 0.8, estimated precision 0.050, "
        "unbiased R@100 over observed + seed: ova +5.00."
    )
    assert text.index("Pairs added:") < text.index("## Mapping")


def test_report_says_why_no_pair_was_kept_with_the_best_rejected(tmp_path, tiny_dataset):
    synthetic = tmp_path / "syn.jsonl"
    synthetic.write_text(json.dumps({"source": 0, "texts": ["nucleic acid"]}) + "\n")
    from skim.data import save_matrix

    save_matrix(tmp_path / "skim.npz", tiny_dataset.trn_X_Y)  # nothing new
    manifest = {
        "counts": {"texts_used": 1, "pairs_proposed": 0, "pairs_kept": 0, "new_pairs": 0,
                   "removed_by_votes": 3},
        "settings": {"tau": 0.95},
        "examples": [{"source": 0, "text": "nucleic acid", "pairs": [],
                      "rejected": [[0, 3, 0.91], [0, 1, 0.8]]}],
    }  # fmt: skip
    report = write_report(
        tmp_path,
        tiny_dataset,
        _results(),
        {"extractive": manifest},
        {"extractive": synthetic},
        {"extractive": tmp_path / "skim.npz"},
        tiny_dataset.trn_X_Y,
    )
    text = report.read_text()
    section = text.split("## Examples: extractive")[1]
    assert "No pair was added: no neighbour scored at least tau = 0.95 (3 removed by votes)." in (
        section
    )
    assert (
        "- **exon**: generated *nucleic acid* -> at tau: none; best below tau: "
        "part (0.910, not true), nucleic acid (0.800, true)" in section
    )
    assert not (tmp_path / "tau-extractive.png").exists()  # no tau table, no sweep
    assert "estimated precision unknown (no seed rows)" in summary_block(text)


def test_report_explains_kept_pairs_that_were_all_observed(tmp_path, tiny_dataset):
    manifest = {"counts": {"pairs_proposed": 5, "pairs_kept": 2, "new_pairs": 0}}
    report = write_report(
        tmp_path, tiny_dataset, _results(), {"extractive": manifest}, {}, {}, tiny_dataset.trn_X_Y
    )
    text = report.read_text()
    assert "No pair was added: all 2 kept pairs were already observed." in text
    assert "(the mapping's manifest holds no example texts)" in text


def test_recall_curves_that_coincide_keep_distinct_styles():
    same = {"unbiased": {"R@1": 0.1, "R@10": 0.4, "R@100": 0.8}}
    rows = [
        {"method": m, "learner": le, "metrics": same}
        for m in ("observed + seed", "SKIM (extractive)", "oracle (complete labels)")
        for le in ("ova", "dual")
    ]
    fig = recall_figure(rows)
    lines = fig.axes[0].get_lines()
    styles = [(line.get_linestyle(), line.get_marker(), line.get_color()) for line in lines]
    assert len(lines) == 6 and len(set(styles)) == 6
    assert len({line.get_linestyle() for line in lines}) == 3  # one per method
    assert len({line.get_marker() for line in lines}) == 2  # one per learner
    import matplotlib.pyplot as plt

    plt.close(fig)


def _row(method, learner, r100):
    return {"method": method, "learner": learner, "metrics": {"unbiased": {"R@100": r100}}}


def test_verdict_judges_each_skim_row_against_the_base_row():
    results = [
        _row("observed + seed", "ova", 0.70),
        _row("observed + seed", "dual", 0.60),
        _row("SKIM (extractive)", "ova", 0.74),
        _row("SKIM (extractive)", "dual", 0.635),
        _row("SKIM (slm)", "ova", 0.71),
        _row("SKIM (slm)", "dual", 0.61),
        _row("SKIM (vllm)", "ova", 0.69),
        _row("SKIM (vllm)", "dual", 0.70),
        _row("oracle (complete labels)", "ova", 0.95),
    ]
    lines = verdict(results)
    assert len(lines) == 3
    assert "pays off" in lines[0] and "ova +4.00, dual +3.50" in lines[0]
    assert "helps, but not by +3" in lines[1] and "ova +1.00, dual +1.00" in lines[1]
    assert "makes a learner worse" in lines[2] and "ova -1.00, dual +10.00" in lines[2]


def test_verdict_says_a_row_equal_to_the_base_changes_nothing_rather_than_helps():
    results = [
        _row("observed + seed", "ova", 0.70),
        _row("observed + seed", "dual", 0.60),
        _row("SKIM (slm)", "ova", 0.70),
        _row("SKIM (slm)", "dual", 0.60),
    ]
    (line,) = verdict(results)
    assert "changes nothing" in line and "helps" not in line and "ova +0.00, dual +0.00" in line


def test_verdict_is_empty_without_a_skim_row():
    assert verdict([_row("observed", "ova", 0.5)]) == []
    assert verdict([]) == []
