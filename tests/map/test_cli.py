from __future__ import annotations

import json

import pytest

from skim.cli import main
from skim.data import load_matrix, save_dataset

from .conftest import BIRD, CAT, DOG, FakeEncoder, write_jsonl


@pytest.fixture
def dataset_dir(dataset, tmp_path, monkeypatch):
    monkeypatch.setattr("skim.encode.load_text_encoder", lambda spec, **kw: FakeEncoder())
    return str(save_dataset(dataset, tmp_path / "data"))


def test_map_end_to_end(dataset_dir, q2l_synthetic, tmp_path, capsys):
    out = tmp_path / "trn_X_Y_skim.npz"
    argv = ["map", dataset_dir, q2l_synthetic, str(out), "--direction", "queries-to-labels"]
    argv += ["--topk", "2", "--tau", "0.8", "--cache-dir", str(tmp_path / "cache")]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "tau 0.8: 4 new pairs on 2 rows and 3 labels from 4 synthetic texts" in printed
    assert "(1 empty, 1 duplicate skipped)" in printed
    assert "on 3 known rows: precision 0.500, recovered 0.500" in printed
    matrix = load_matrix(out)
    assert matrix[0, CAT] == 1 and matrix[0, DOG] == pytest.approx(0.9) and matrix[1, BIRD] > 0
    manifest = json.loads((tmp_path / "trn_X_Y_skim.manifest.json").read_text())
    assert manifest["settings"]["tau"] == 0.8 and manifest["counts"]["output_pairs"] == 7
    assert manifest["inputs"]["dataset"] == dataset_dir


def test_map_json_is_the_whole_stdout(dataset_dir, q2l_synthetic, tmp_path, capsys):
    out = tmp_path / "trn_X_Y_skim.npz"
    argv = ["map", dataset_dir, q2l_synthetic, str(out), "--direction", "queries-to-labels"]
    argv += ["--topk", "2", "--cache-dir", str(tmp_path / "cache"), "--json"]
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["counts"]["new_pairs"] == 4 and printed["counts"]["output_pairs"] == 7
    assert printed["tau_estimate"]["precision"] == pytest.approx(0.5)
    assert printed["output"] == str(out)
    assert printed["manifest"] == str(tmp_path / "trn_X_Y_skim.manifest.json")
    assert main([*argv[:3], *argv[4:], "--sweep", "0.6,0.95"]) == 0
    sweep = json.loads(capsys.readouterr().out)
    assert [row["tau"] for row in sweep] == [0.6, 0.95]


def test_map_sweep_prints_and_writes_nothing(dataset_dir, q2l_synthetic, tmp_path, capsys):
    argv = ["map", dataset_dir, q2l_synthetic, "--direction", "queries-to-labels", "--topk", "2"]
    argv += ["--sweep", "0.6,0.95", "--cache-dir", str(tmp_path / "cache")]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["0.6", "6", "4", "0.5000", "0.5000"]
    assert lines[2].split() == ["0.95", "4", "2", "1.0000", "0.5000"]
    assert not list(tmp_path.glob("*.npz"))


@pytest.mark.parametrize(
    ("records", "extra", "message"),
    [
        ([{"source": 9, "texts": ["kitty"]}], [], "bad.jsonl, line 1: source 9 is out of range"),
        ([{"source": 0, "texts": ["kitty"]}], ["--tau", "auto"], "needs a target precision"),
    ],
)
def test_map_user_errors_exit_2(dataset_dir, tmp_path, capsys, records, extra, message):
    path = write_jsonl(tmp_path / "bad.jsonl", records)
    out = tmp_path / "out.npz"
    argv = ["map", dataset_dir, path, str(out), "--direction", "queries-to-labels", *extra]
    assert main(argv + ["--cache-dir", str(tmp_path / "cache")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("skim map: error:") and message in err and "Traceback" not in err
    assert not out.exists()


def test_map_needs_out_without_sweep(dataset_dir, q2l_synthetic, capsys):
    assert main(["map", dataset_dir, q2l_synthetic, "--direction", "labels-to-queries"]) == 2
    assert "give an output path OUT" in capsys.readouterr().err


def test_map_without_any_match_writes_the_clicks(dataset_dir, tmp_path, capsys):
    path = write_jsonl(tmp_path / "one.jsonl", [{"source": 2, "texts": ["fishy"]}])
    out = tmp_path / "out.npz"
    argv = ["map", dataset_dir, path, str(out), "--direction", "queries-to-labels"]
    argv += ["--tau", "0.999", "--cache-dir", str(tmp_path / "cache")]  # fishy-fish: 0.9975
    assert main(argv) == 0
    assert "tau 0.999: 0 new pairs on 0 rows" in capsys.readouterr().out
    assert load_matrix(out).nnz == 3  # the three observed pairs, nothing else


def test_map_chunk_size_1_gives_the_same_pairs(dataset_dir, tmp_path):
    # the middle chunk (fishy, source 0) has no neighbour at or above tau 0.999
    records = [
        {"source": 0, "texts": ["kitty"]},
        {"source": 0, "texts": ["fishy"]},
        {"source": 1, "texts": ["kitty"]},
    ]
    path = write_jsonl(tmp_path / "s.jsonl", records)
    outs = []
    for chunk in ("1", "100"):
        out = tmp_path / f"out{chunk}.npz"
        argv = ["map", dataset_dir, path, str(out), "--direction", "queries-to-labels"]
        argv += ["--tau", "0.999", "--chunk-size", chunk, "--cache-dir", str(tmp_path / "cache")]
        assert main(argv) == 0
        outs.append(load_matrix(out).toarray())
    assert (outs[0] == outs[1]).all() and outs[0][1, CAT] == 1


def test_map_levers_from_the_command_line(dataset_dir, q2l_synthetic, tmp_path):
    out = tmp_path / "voted.npz"
    argv = ["map", dataset_dir, q2l_synthetic, str(out), "--direction", "queries-to-labels"]
    argv += ["--topk", "2", "--tau", "0.5", "--cache-dir", str(tmp_path / "cache")]
    assert main([*argv, "--min-votes", "3"]) == 0
    assert load_matrix(out)[0, BIRD] > 0 and load_matrix(out).nnz == 4  # clicks + (0, bird)
    assert main([*argv, "--calibrated"]) == 0
    assert load_matrix(out)[0, DOG] == pytest.approx(1 / 3)  # see test_mapping's hand check
    manifest = json.loads((tmp_path / "voted.manifest.json").read_text())
    assert manifest["settings"]["calibrated"] and manifest["calibration"]["fitted_on"] == 5


def test_map_agree_with_a_folder_that_is_no_model_exits_2(
    dataset_dir, q2l_synthetic, tmp_path, capsys
):
    argv = ["map", dataset_dir, q2l_synthetic, str(tmp_path / "o.npz"), "--direction"]
    argv += ["queries-to-labels", "--agree-with", str(tmp_path), "--cache-dir", str(tmp_path)]
    assert main(argv) == 2
    assert "not a trained skim model" in capsys.readouterr().err
