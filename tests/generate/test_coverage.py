import json

import numpy as np
import pytest

from skim.errors import SkimError
from skim.generate import evaluate_generation

from ..distill.helpers import toy_dataset


class OneHotEncoder:
    """Each word is one axis: equal texts score 1, texts sharing no word score 0."""

    id = "one-hot"

    def __init__(self, dim=32):
        self.dim, self.vocab = dim, {}

    def encode(self, texts):
        out = np.zeros((len(texts), self.dim), np.float32)
        for row, text in enumerate(texts):
            for word in text.split():
                out[row, self.vocab.setdefault(word, len(self.vocab))] += 1
            out[row] /= max(np.linalg.norm(out[row]), 1e-9)
        return out


ENCODER = OneHotEncoder()


def test_coverage_is_share_of_true_partners_in_top_k(tmp_path):
    # dog: truth {canine, animal}, observed {canine}; its texts find canine and tree.
    # cat: truth {feline, animal}, observed {feline}; its texts find both.
    # car: truth {vehicle}; its texts find tree and plant.
    synthetic = {0: ["canine", "tree"], 1: ["animal", "feline"], 3: ["tree", "plant"]}
    result = evaluate_generation(
        toy_dataset(), synthetic, "queries-to-labels", ENCODER, k=1, cache_dir=tmp_path
    )
    # at k=1 each item keeps the hit of its first text: canine, animal, tree
    assert result["coverage@1"] == pytest.approx((0.5 + 0.5 + 0.0) / 3)
    assert result["items"] == 3 and result["truth"] == "trn_X_Y_unbiased"
    result = evaluate_generation(
        toy_dataset(), synthetic, "queries-to-labels", ENCODER, k=2, cache_dir=tmp_path
    )
    assert result["coverage@2"] == pytest.approx((0.5 + 1.0 + 0.0) / 3)
    # missing partners: dog's animal (not found), cat's animal (found); car has none missing
    assert result["missing_coverage@2"] == pytest.approx(0.5)
    assert result["items_with_missing"] == 2


def test_cli_prints_the_coverage_as_text_or_json(tmp_path, capsys, monkeypatch):
    from skim.cli import main
    from skim.data import save_dataset

    monkeypatch.setattr("skim.encode.load_text_encoder", lambda spec=None, **kw: ENCODER)
    data = save_dataset(toy_dataset(), tmp_path / "data")
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps({"source": 4, "texts": ["dog"]}) + "\n")
    args = ["evaluate-generation", str(data), str(path), "--direction", "labels-to-queries"]
    monkeypatch.setenv("SKIM_CACHE_DIR", str(tmp_path / "cache"))
    assert main([*args, "-k", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["coverage@1"] == pytest.approx(0.25)
    assert main([*args, "-k", "1"]) == 0
    assert "coverage@1: 0.25" in capsys.readouterr().out


def test_labels_to_queries_reads_jsonl_and_checks_sources(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps({"source": 4, "texts": ["dog"]}) + "\n")
    # label 'animal' is truly relevant to dog, cat, wolf, lion: "dog" finds dog only
    result = evaluate_generation(
        toy_dataset(), path, "labels-to-queries", ENCODER, k=1, cache_dir=tmp_path
    )
    assert result["coverage@1"] == pytest.approx(0.25)
    path.write_text(json.dumps({"source": 99, "texts": ["dog"]}) + "\n")
    with pytest.raises(SkimError, match="out of range"):
        evaluate_generation(toy_dataset(), path, "labels-to-queries", ENCODER)
    path.write_text('{"texts": []}\n')
    with pytest.raises(SkimError, match="line 1"):
        evaluate_generation(toy_dataset(), path, "labels-to-queries", ENCODER)
