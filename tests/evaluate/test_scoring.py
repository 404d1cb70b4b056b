import json

import numpy as np
import pytest
import scipy.sparse as sp

from skim.cli import main
from skim.data import save_dataset, save_matrix
from skim.evaluate import evaluate_predictions, format_results
from skim.evaluate.scoring import empty_rows_note


def _pred():
    # test row 0 ranks labels 2, 0; row 1 ranks 2 (filtered), 3
    return sp.csr_matrix(np.array([[0.5, 0, 0.9, 0], [0, 0, 0.9, 0.4]], np.float32))


def test_observed_and_unbiased_with_filters(tiny_dataset):
    res = evaluate_predictions(tiny_dataset, _pred(), k=(1, 2))
    assert set(res) == {"observed", "unbiased"}
    # observed: row 0 {0} -> top-1 label 2 misses; row 1 {3} -> (1, 2) filtered, top-1 label 3 hits
    assert res["observed"]["P@1"] == pytest.approx(0.5)
    assert res["observed"]["R@2"] == pytest.approx(1.0)
    # unbiased: row 0 {0, 2} -> top-1 hits; row 1 {1, 3} -> top-1 hits
    assert res["unbiased"]["P@1"] == pytest.approx(1.0)
    assert res["unbiased"]["R@2"] == pytest.approx((1.0 + 0.5) / 2)
    assert list(res["observed"])[:2] == ["P@1", "P@2"] and "PSP@2" in res["observed"]


def test_unbiased_is_absent_without_complete_labels(tiny_dataset):
    res = evaluate_predictions(tiny_dataset.replace(tst_X_Y_unbiased=None), _pred(), k=(1,))
    assert list(res) == ["observed"]


def test_format_results_is_a_percentage_table(tiny_dataset):
    text = format_results(evaluate_predictions(tiny_dataset, _pred(), k=(1,)))
    assert text.splitlines()[0].split() == ["observed", "unbiased"]
    assert text.splitlines()[1].split() == ["P@1", "50.00", "100.00"]


def test_empty_rows_skip_or_keep_and_the_note_says_which(tiny_dataset):
    ds = tiny_dataset.replace(tst_X_Y=sp.csr_matrix(np.array([[0, 0, 0, 0], [0, 0, 0, 1.0]])))
    skip = evaluate_predictions(ds, _pred(), k=(1,))
    keep = evaluate_predictions(ds, _pred(), k=(1,), empty_rows="keep")
    # observed row 0 has no label; row 1 {3}: top-1 (2 is filtered) hits
    assert skip["observed"]["P@1"] == 1.0 and keep["observed"]["P@1"] == pytest.approx(0.5)
    assert skip["observed"]["R@1"] == 1.0 and keep["observed"]["R@1"] == pytest.approx(0.5)
    assert skip["unbiased"] == keep["unbiased"]  # no empty row there
    assert empty_rows_note(ds, "keep") == (
        "Test rows without a true label: 1 of 2 (observed), 0 of 2 (unbiased); "
        "empty_rows = keep, kept: they count as 0 in P@k, R@k and nDCG@k (pyxclib's recall)."
    )


def test_cli_evaluate_writes_json(tmp_path, tiny_dataset, capsys):
    ds = save_dataset(tiny_dataset, tmp_path / "ds")
    save_matrix(tmp_path / "pred.npz", _pred())
    out = tmp_path / "m.json"
    assert (
        main(["evaluate", str(ds), str(tmp_path / "pred.npz"), "--k", "1,2", "--json", str(out)])
        == 0
    )
    data = json.loads(out.read_text())
    assert data["observed"]["P@1"] == pytest.approx(0.5) and data["unbiased"]["P@1"] == 1.0
    assert data["empty_rows"] == "skip"
    assert set(data["observed"]) == {
        f"{m}@{k}" for m in ("P", "R", "nDCG", "PSP", "PSnDCG", "coverage") for k in (1, 2)
    }
    printed = capsys.readouterr().out
    assert "P@1" in printed and "empty_rows = skip, skipped" in printed


def test_cli_empty_rows_keep_is_used_and_reported(tmp_path, tiny_dataset, capsys):
    ds = tiny_dataset.replace(tst_X_Y=sp.csr_matrix(np.array([[0, 0, 0, 0], [0, 0, 0, 1.0]])))
    ds = save_dataset(ds, tmp_path / "ds")
    save_matrix(tmp_path / "pred.npz", _pred())
    out = tmp_path / "m.json"
    argv = ["evaluate", str(ds), str(tmp_path / "pred.npz"), "--k", "1", "--json", str(out)]
    assert main([*argv, "--empty-rows", "keep"]) == 0
    data = json.loads(out.read_text())
    assert data["empty_rows"] == "keep" and data["observed"]["R@1"] == pytest.approx(0.5)
    assert "1 of 2 (observed)" in capsys.readouterr().out
    assert main([*argv, "--empty-rows", "drop"]) == 2
    assert "argument --empty-rows: invalid choice: 'drop'" in capsys.readouterr().err


def test_cli_ranks_logits_and_rejects_scores_that_are_not_finite(tmp_path, tiny_dataset, capsys):
    ds = save_dataset(tiny_dataset, tmp_path / "ds")
    save_matrix(tmp_path / "prob.npz", _pred())
    logits = _pred()
    logits.data = 8 * logits.data - 5  # -1, 2.2, 2.2, -1.8: the same order, outside [0, 1]
    save_matrix(tmp_path / "logits.npz", logits)
    for name in ("prob", "logits"):
        argv = ["evaluate", str(ds), str(tmp_path / f"{name}.npz"), "--k", "1,2"]
        assert main([*argv, "--json", str(tmp_path / f"{name}.json")]) == 0
    capsys.readouterr()
    assert json.loads((tmp_path / "logits.json").read_text()) == json.loads(
        (tmp_path / "prob.json").read_text()
    )
    (tmp_path / "bad.txt").write_text("2 4\n0:-1.5 2:inf\n3:0.4\n")
    assert main(["evaluate", str(ds), str(tmp_path / "bad.txt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("skim evaluate: error: ") and err.count("\n") == 1
    assert "bad.txt, line 2: column 2 has value inf; scores must be finite" in err


def test_cli_user_errors_exit_2_without_traceback(tmp_path, tiny_dataset, capsys):
    ds = save_dataset(tiny_dataset, tmp_path / "ds")
    save_matrix(tmp_path / "wrong.npz", sp.csr_matrix((5, 4), dtype=np.float32))
    assert main(["evaluate", str(ds), str(tmp_path / "wrong.npz")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("skim evaluate: error: predictions are 5 x 4") and "Traceback" not in err
    assert main(["evaluate", str(ds), str(tmp_path / "missing.npz")]) == 2
    assert "missing.npz: file not found" in capsys.readouterr().err
    (ds / "trn_X.txt").write_text("x\n")
    assert main(["stats", str(ds)]) == 2
    assert "trn_X.txt (1 lines)" in capsys.readouterr().err


def test_cli_stats(tmp_path, tiny_dataset, capsys):
    ds = save_dataset(tiny_dataset, tmp_path / "ds")
    assert main(["stats", str(ds)]) == 0
    assert "train missing share: 40.0%" in capsys.readouterr().out
    assert main(["stats", str(ds), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["labels"] == 4


def test_cli_rejects_bad_k(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path), "p.npz", "--k", "1,x"]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("skim evaluate: error: argument --k: expected integers")
        and err.count("\n") == 1
    )


def test_cli_evaluate_says_the_test_filter_was_applied(tmp_path, tiny_dataset, capsys):
    ds = save_dataset(tiny_dataset, tmp_path / "ds")  # tst_filter_labels.txt: the pair (1, 2)
    save_matrix(tmp_path / "pred.npz", _pred())  # which row 1 predicts, at 0.9
    argv = ["evaluate", str(ds), str(tmp_path / "pred.npz"), "--k", "1"]
    assert main(argv) == 0
    assert capsys.readouterr().out.endswith(
        "Test filter (tst_filter_labels.txt): 1 pairs; 1 predicted pairs on them removed before "
        "ranking.\n"
    )
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["filtered_pairs"], data["filtered_predictions"]) == (1, 1)
    bare = save_dataset(tiny_dataset.replace(tst_filter=np.zeros((0, 2))), tmp_path / "bare")
    assert main(["evaluate", str(bare), str(tmp_path / "pred.npz"), "--k", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["filtered_pairs"], data["filtered_predictions"]) == (0, 0)
    assert data["observed"]["P@1"] == 0.0  # row 1's top-1 is the unfiltered label 2 now
