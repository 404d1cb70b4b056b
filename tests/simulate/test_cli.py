from __future__ import annotations

import json

import pytest

from skim.cli import main
from skim.data import load_dataset
from tests.simulate.conftest import HashEncoder


@pytest.fixture
def fake_default_encoder(monkeypatch):
    """The CLI's default encoder replaced by a deterministic fake (no model download)."""
    monkeypatch.setattr("skim.encode.load_text_encoder", lambda spec=None, **kw: HashEncoder())


def test_wordnet_then_simulate_end_to_end(tiny_wordnet, tmp_path, capsys, fake_default_encoder):
    out = tmp_path / "wn"
    cache = ["--cache-dir", str(tmp_path / "cache")]
    status = main(
        ["datasets", "wordnet", str(out), "--source", str(tiny_wordnet), "--exposure-topk", "2"]
        + cache
    )
    assert status == 0
    for name in (
        "trn_X.txt",
        "tst_X.txt",
        "Y.txt",
        "trn_X.meta.txt",
        "Y.meta.txt",
        "trn_X_Y.npz",
        "tst_X_Y.npz",
        "trn_X_Y_unbiased.npz",
        "tst_X_Y_unbiased.npz",
        "dataset.json",
        "WORDNET_LICENSE.txt",
    ):
        assert (out / name).is_file(), name
    info = json.loads((out / "dataset.json").read_text())
    assert info["simulation"]["exposure_topk"] == 2 and info["wordnet"]["queries"] == 11
    printed = capsys.readouterr().out
    assert "9 train / 2 test queries, 7 labels" in printed
    assert f"of {info['simulation']['counts']['train']['true_pairs']} true pairs" in printed

    mar = tmp_path / "mar"
    assert main(["simulate", str(out), str(mar), "--mar-fraction", "0.5", "--json"] + cache) == 0
    ds = load_dataset(mar)
    printed = json.loads(capsys.readouterr().out)  # the whole of stdout is one document
    assert printed["path"] == str(mar) and printed["stats"]["labels"] == 7
    assert printed["simulation"]["train"]["observed_pairs"] == ds.trn_X_Y.nnz
    assert ds.trn_X_Y.nnz == round(0.5 * ds.trn_X_Y_unbiased.nnz)
    assert ds.info["simulation"]["method"] == "mar" and ds.info["wordnet"]["depth"] == 2
    assert (mar / "WORDNET_LICENSE.txt").is_file()

    status = main(
        ["simulate", str(out), str(out), "--click-model", "sigmoid", "--temperature", "0.5"] + cache
    )
    assert status == 0
    assert load_dataset(out).info["simulation"]["method"] == "exposure+sigmoid"


def test_wordnet_depth_all_from_the_cli(tiny_wordnet, tmp_path):
    out = tmp_path / "wn"
    args = ["datasets", "wordnet", str(out), "--source", str(tiny_wordnet), "--exposure-topk", "0"]
    assert main(args + ["--depth", "all"]) == 0
    info = json.loads((out / "dataset.json").read_text())
    # ancestors up to entity of synsets 2..12: 1+1+2+2+3+4+5+3+6+5+2 = 34 pairs (hand count)
    assert info["wordnet"]["depth"] == "all" and info["wordnet"]["true_pairs"] == 34


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lexfiles", "noun.foood"], "unknown WordNet noun lexicographer file 'noun.foood'"),
        (["--source", "MISSING"], "no data.noun file found"),
        (["--depth", "0"], "--depth must be at least 1"),
        (["--depth", "al"], "--depth must be a positive integer or 'all', got 'al'"),
    ],
)
def test_wordnet_bad_settings_exit_2(tiny_wordnet, tmp_path, capsys, args, message):
    args = [a.replace("MISSING", str(tmp_path / "missing")) for a in args]
    if "--source" not in args:
        args += ["--source", str(tiny_wordnet)]
    status = main(["datasets", "wordnet", str(tmp_path / "out"), "--exposure-topk", "0"] + args)
    err = capsys.readouterr().err
    assert status == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_simulate_refuses_to_overwrite_a_non_dataset_folder(tiny_wordnet, tmp_path, capsys):
    src = tmp_path / "wn"
    assert (
        main(
            ["datasets", "wordnet", str(src), "--source", str(tiny_wordnet), "--exposure-topk", "0"]
        )
        == 0
    )
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    assert main(["simulate", str(src), str(precious), "--mar-fraction", "0.5"]) == 2
    assert "is not a dataset directory" in capsys.readouterr().err
    assert (precious / "notes.txt").read_text() == "keep me"
