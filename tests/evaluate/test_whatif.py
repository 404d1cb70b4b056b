"""The what-if curve: simulated points at the asked rates, real points measured, gains against
the known labels, resumable, and one-sentence CLI errors."""

from __future__ import annotations

import json

import pytest

from skim.cli import main
from skim.data import save_dataset, save_matrix
from skim.evaluate.whatif import break_even, whatif_curve
from tests.learners.conftest import FakeEncoder, make_dataset


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SKIM_CACHE_DIR", str(tmp_path / "skim-cache"))


def test_curve_points_gains_and_a_rerun_that_trains_nothing(tmp_path):
    dataset = make_dataset()  # 60 train queries; a third lack their animal label: 20 missing
    complete = tmp_path / "complete.npz"
    save_matrix(complete, dataset.trn_X_Y_unbiased)
    options = {"encoder": FakeEncoder(), "batch_size": 16, "show_progress": False}
    kwargs = dict(
        precisions=(0.5, 1.0),
        recoveries=(0.5,),
        learners=("ova",),
        epochs={"ova": 2},
        measured={"complete": complete},
        encoder=FakeEncoder(),
        train_options=options,
    )
    logs: list[str] = []
    rows = whatif_curve(dataset, tmp_path / "w", log=logs.append, **kwargs)
    assert [r["kind"] for r in rows] == ["baseline", "simulated", "simulated", "measured"]
    base, half, exact, real = rows
    assert base["new_pairs"] == 0 and base["ova"]["gain"] == 0.0
    assert (half["precision"], half["recovery"], half["new_pairs"]) == (0.5, 0.5, 20)
    assert (exact["precision"], exact["recovery"], exact["new_pairs"]) == (1.0, 0.5, 10)
    assert (real["precision"], real["recovery"], real["new_pairs"]) == (1.0, 1.0, 20)
    assert real["ova"]["gain"] == pytest.approx(real["ova"]["R@100"] - base["ova"]["R@100"])
    out = tmp_path / "w"
    assert json.loads((out / "whatif.json").read_text())[3]["name"] == "complete"
    assert (out / "whatif.png").read_bytes()[:4] == b"\x89PNG"
    text = (out / "whatif.md").read_text()
    assert "| real: complete | 100.0 | 100.0 | 20 |" in text and "never a SKIM row" in text

    logs.clear()
    again = whatif_curve(dataset, out, log=logs.append, **kwargs)
    assert [r["ova"] for r in again] == [r["ova"] for r in rows]
    assert sum("up to date, skipped" in line for line in logs) == 8  # 4 x (train, predict)
    assert not any("running" in line for line in logs)

    logs.clear()  # a run folder that trained the baseline and the measured labels: reused
    reused = whatif_curve(dataset, tmp_path / "w2", run=out, log=logs.append, **kwargs)
    assert [r["ova"] for r in reused] == [r["ova"] for r in rows]
    assert sum("scored from" in line for line in logs) == 2
    ran = [line for line in logs if line.endswith("running")]
    assert len(ran) == 4 and all("simulated" in line for line in ran), ran


def test_break_even_is_the_lowest_precision_above_the_gain_from_there_up():
    def point(p, r, gain):
        return {
            "kind": "simulated",
            "asked_precision": p,
            "asked_recovery": r,
            "ova": {"gain": gain / 100},
        }

    rows = [
        point(0.2, 0.1, -2),
        point(0.6, 0.1, 1),
        point(1.0, 0.1, 4),
        point(0.2, 0.5, 1),
        point(0.6, 0.5, -1),
        point(1.0, 0.5, 5),
        point(0.2, 0.25, -3),
        point(0.6, 0.25, -1),
        point(1.0, 0.25, -0.5),
    ]
    assert break_even(rows, "ova") == {0.1: 0.6, 0.25: None, 0.5: 1.0}
    assert break_even(rows, "ova", gain=3.0) == {0.1: 1.0, 0.25: None, 0.5: 1.0}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--precision", "0.5,1.5"], "--precision must be in (0, 1], got 1.5"),
        (["--recovery", "half"], "--recovery must be comma-separated numbers"),
        (["--measure", "extractive"], "--measure takes NAME=VALUE, got 'extractive'"),
        (["--learners", "svm"], "--learners: choose from ova, dual"),
        (["--epochs", "ova=two"], "--epochs takes whole numbers"),
    ],
)
def test_cli_errors_exit_2_in_one_sentence(tmp_path, capsys, extra, message):
    data = save_dataset(make_dataset(), tmp_path / "data")
    status = main(["whatif", str(data), "--out", str(tmp_path / "w"), *extra])
    err = capsys.readouterr().err
    assert status == 2 and message in err and "Traceback" not in err


def test_cli_refuses_a_dataset_without_complete_labels(tmp_path, capsys):
    data = save_dataset(
        make_dataset().replace(trn_X_Y_unbiased=None, tst_X_Y_unbiased=None), tmp_path / "data"
    )
    status = main(["whatif", str(data), "--out", str(tmp_path / "w")])
    err = capsys.readouterr().err
    assert status == 2 and "needs the complete labels trn_X_Y_unbiased.npz" in err
