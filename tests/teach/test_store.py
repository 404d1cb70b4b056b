import pytest

from skim.errors import SkimError


def test_read_demonstrations_checks_fields(tmp_path, gold_dataset):
    from skim.teach import gold_teacher, read_demonstrations

    gold_teacher(gold_dataset, tmp_path / "demos.jsonl", "queries-to-labels", 1.0)
    records = read_demonstrations(tmp_path / "demos.jsonl")
    assert [r["source"] for r in records] == [0, 1, 2, 3]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"source": 1, "texts": ["a"]}\n')
    assert read_demonstrations(bad, require=("source", "texts")) == [{"source": 1, "texts": ["a"]}]
    with pytest.raises(SkimError, match=r"bad.jsonl, line 1: missing direction, text, metadata"):
        read_demonstrations(bad)
    bad.write_text('{"source": "1", "texts": ["a"]}\n')
    with pytest.raises(SkimError, match='line 1: "source" must be an integer'):
        read_demonstrations(bad, require=("source", "texts"))
    bad.write_text('\n{"source": 1, "texts": "a"}\n')
    with pytest.raises(SkimError, match='line 2: "texts" must be a list of strings'):
        read_demonstrations(bad, require=("source", "texts"))
    with pytest.raises(SkimError, match="demonstrations file not found"):
        read_demonstrations(tmp_path / "none.jsonl")
