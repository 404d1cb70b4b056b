from __future__ import annotations

import pytest

from skim.errors import SkimError
from skim.map.synthetic import SyntheticFile

from .conftest import write_jsonl


def test_chunks_stream_whole_records_and_count(tmp_path):
    path = write_jsonl(
        tmp_path / "s.jsonl",
        [
            {"source": 0, "texts": ["a", "b", "a", " "]},
            {"source": 1, "texts": ["a"]},
            {"source": 0, "texts": ["b", "c", "d"]},
        ],
    )
    synth = SyntheticFile(path, 2, "test")
    chunks = [(s.tolist(), t) for s, t in synth.chunks(chunk_size=2)]
    # a record is never split; a chunk closes once it holds chunk_size texts or more, and
    # repeats are only looked for within a chunk ("b" for source 0 comes back in chunk 2)
    assert chunks == [([0, 0], ["a", "b"]), ([1, 0, 0, 0], ["a", "b", "c", "d"])]
    assert synth.counts == {
        "records": 3, "texts": 8, "empty_skipped": 1, "duplicate_skipped": 1, "texts_used": 6,
    }  # fmt: skip
    assert synth.check() == 3


def test_invalid_utf8_and_missing_file(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_bytes(b'{"source": 0, "texts": ["ok"]}\n{"source": 0, "texts": ["\xff"]}\n')
    with pytest.raises(SkimError, match=r"s.jsonl, line 2: not valid UTF-8"):
        SyntheticFile(path, 1, "test").check()
    with pytest.raises(SkimError, match="nothing.jsonl: synthetic texts file not found"):
        SyntheticFile(tmp_path / "nothing.jsonl", 1, "test")


def test_counted_chunks_count_repeated_texts(tmp_path):
    path = write_jsonl(
        tmp_path / "s.jsonl",
        [{"source": 0, "texts": ["a", "b", " a", "a", ""]}, {"source": 1, "texts": ["a"]}],
    )
    synth = SyntheticFile(path, 2, "test")
    [(sources, texts, times)] = list(synth.counted_chunks())
    assert (sources.tolist(), texts, times.tolist()) == ([0, 0, 1], ["a", "b", "a"], [3, 1, 1])
    assert synth.counts["duplicate_skipped"] == 2 and synth.counts["texts_used"] == 3
