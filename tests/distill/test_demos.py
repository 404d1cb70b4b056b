import json
import re

import pytest

from skim.distill import load_demonstrations
from skim.distill.demos import observed_pairs
from skim.errors import SkimError

from .helpers import toy_dataset, write_demos


def test_loads_demonstrations_written_by_teach(tmp_path):
    demos = load_demonstrations(write_demos(tmp_path / "demos.jsonl"))
    assert len(demos) == 4
    assert demos[0].text == "dog" and demos[0].texts == ("canine", "animal")
    assert demos[0].completion() == "canine\nanimal"
    assert "metadata: a domesticated canine kept as a pet" in demos[0].prompt()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 2: not a JSON record"),
        ('{"text": "x", "direction": "queries-to-labels"}', "line 2: missing texts"),
        ('{"text": "x", "direction": "sideways", "texts": ["a"]}', "record 2: direction"),
        ('{"text": "x", "direction": "queries-to-labels", "texts": "a"}', "list of strings"),
    ],
)
def test_bad_demos_file_names_file_and_line(tmp_path, line, message):
    path = tmp_path / "demos.jsonl"
    good = {"text": "a", "direction": "queries-to-labels", "texts": ["b"]}
    path.write_text(json.dumps(good) + "\n" + line + "\n")
    with pytest.raises(SkimError, match=re.escape(message)) as info:
        load_demonstrations(path)
    assert str(path) in str(info.value)


def test_missing_or_empty_demos_file(tmp_path):
    with pytest.raises(SkimError, match="does not exist"):
        load_demonstrations(tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(SkimError, match="no demonstration"):
        load_demonstrations(tmp_path / "empty.jsonl")


def test_observed_pairs_show_observed_targets():
    pairs = observed_pairs(toy_dataset(), "queries-to-labels")
    assert pairs[0] == ("dog", "a domesticated canine kept as a pet", ["canine"])
    assert len(observed_pairs(toy_dataset(), "queries-to-labels", limit=3)) == 3
    by_label = observed_pairs(toy_dataset(), "labels-to-queries")
    assert by_label[0] == ("canine", "a dog-like animal", ["dog", "wolf"])
