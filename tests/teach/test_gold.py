import json

import numpy as np
import pytest

from skim.cli import main
from skim.data import load_matrix, save_dataset
from skim.errors import SkimError
from skim.teach import gold_teacher

# complete labels of each train query of the gold_dataset fixture, by hand
LABELS_OF = {
    0: ["sequence", "nucleic acid"],
    1: ["nucleic acid", "unit"],
    2: ["unit"],
    3: ["sequence", "nucleic acid"],
}


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_all_queries_give_exact_records_and_seed_matrix(tmp_path, gold_dataset):
    out = tmp_path / "demos.jsonl"
    summary = gold_teacher(gold_dataset, out, "queries-to-labels", 1.0)
    records = _lines(out)
    assert [r["source"] for r in records] == [0, 1, 2, 3]
    assert [r["texts"] for r in records] == [LABELS_OF[i] for i in range(4)]
    first = records[0]
    assert first["text"] == "exon" and first["metadata"] == "coding part of a gene"
    assert first["known"] == [] and first["teacher"] == "gold"
    assert first["direction"] == "queries-to-labels"
    assert first["completion"] == "sequence\nnucleic acid"
    assert first["prompt"].endswith(
        "## Item\nexon\n## Description\ncoding part of a gene\n## Labels\n"
    )
    assert len({r["key"] for r in records}) == 4
    seed = load_matrix(tmp_path / "demos.seed.npz")
    np.testing.assert_array_equal(seed.toarray(), gold_dataset.trn_X_Y_unbiased.toarray())
    assert (summary["seed_count"], summary["records"], summary["pairs_added"]) == (4, 4, 4)
    manifest = json.loads((tmp_path / "demos.manifest.json").read_text())
    assert manifest["seed_items"] == [0, 1, 2, 3] and manifest["seed_axis"] == "rows"


def test_a_seed_fraction_adds_complete_rows_only_for_the_seed(tmp_path, gold_dataset):
    out = tmp_path / "demos.jsonl"
    summary = gold_teacher(gold_dataset, out, "queries-to-labels", 0.5, seed=3)
    rows = summary["seed_items"]
    assert len(rows) == 2 and rows == sorted(rows)
    assert [(r["source"], r["texts"]) for r in _lines(out)] == [(i, LABELS_OF[i]) for i in rows]
    seed = load_matrix(tmp_path / "demos.seed.npz").toarray()
    observed = gold_dataset.trn_X_Y.toarray()
    complete = gold_dataset.trn_X_Y_unbiased.toarray()
    for i in range(4):
        np.testing.assert_array_equal(seed[i], complete[i] if i in rows else observed[i])
    assert summary["pairs_added"] == int((complete[rows] - observed[rows]).sum())
    again = gold_teacher(gold_dataset, tmp_path / "again.jsonl", "queries-to-labels", 0.5, seed=3)
    assert again["seed_items"] == rows  # the seed is reproducible


def test_labels_to_queries_seeds_labels_and_hides_shown_queries(tmp_path, gold_dataset):
    out = tmp_path / "demos.jsonl"
    summary = gold_teacher(gold_dataset, out, "labels-to-queries", 1.0, max_meta_tokens=4)
    got = [(r["source"], r["text"], r["known"], r["texts"]) for r in _lines(out)]
    assert got == [
        (0, "sequence", ["exon"], ["gene"]),
        (1, "nucleic acid", ["gene"], ["exon", "intron"]),
        (2, "unit", ["codon"], ["intron"]),
    ]
    assert _lines(out)[0]["metadata"] == "an ordered series"  # 4 tokens ~ 3 words
    assert "## Known queries\nexon\n## Document text" in _lines(out)[0]["prompt"]
    assert summary["seed_axis"] == "labels"

    part = gold_teacher(gold_dataset, tmp_path / "p.jsonl", "labels-to-queries", 0.34, seed=1)
    (label,) = part["seed_items"]
    seed = load_matrix(tmp_path / "p.seed.npz").toarray()
    expected = gold_dataset.trn_X_Y.toarray()
    expected[:, label] = gold_dataset.trn_X_Y_unbiased.toarray()[:, label]
    np.testing.assert_array_equal(seed, expected)


def test_gold_needs_complete_labels_and_a_valid_fraction(tmp_path, gold_dataset):
    with pytest.raises(SkimError, match="trn_X_Y_unbiased.*complete train labels"):
        gold_teacher(gold_dataset.replace(trn_X_Y_unbiased=None), tmp_path / "d.jsonl",
                     "queries-to-labels", 0.5)  # fmt: skip
    for bad in (0, 1.5, -0.1):
        with pytest.raises(SkimError, match="seed fraction"):
            gold_teacher(gold_dataset, tmp_path / "d.jsonl", "queries-to-labels", bad)
    with pytest.raises(SkimError, match="direction must be one of"):
        gold_teacher(gold_dataset, tmp_path / "d.jsonl", "labels-to-labels", 0.5)
    assert not list(tmp_path.iterdir())


def test_cli_gold(tmp_path, gold_dataset, capsys):
    save_dataset(gold_dataset, tmp_path / "ds")
    args = ["teach", str(tmp_path / "ds"), str(tmp_path / "demos.jsonl"),
            "--direction", "queries-to-labels", "--teacher", "gold"]  # fmt: skip
    assert main(args) == 2
    assert "needs --seed-fraction" in capsys.readouterr().err
    assert main([*args, "--seed-fraction", "1", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["records"] == 4
    assert set(summary["inputs_sha256"]) == {"trn_X_Y.npz", "trn_X_Y_unbiased.npz"}
    assert len(_lines(tmp_path / "demos.jsonl")) == 4
    assert load_matrix(tmp_path / "demos.seed.npz").nnz == 7


def test_items_without_metadata_are_counted(tmp_path, gold_dataset):
    bare = gold_dataset.replace(trn_meta=None)
    summary = gold_teacher(bare, tmp_path / "d.jsonl", "queries-to-labels", 1.0)
    assert summary["empty_metadata"] == 4
    record = _lines(tmp_path / "d.jsonl")[0]
    assert record["metadata"] == "" and "## Description\n(no description)\n" in record["prompt"]
