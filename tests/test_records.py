import json
import os

import pytest

from skim.errors import SkimError
from skim.records import RecordLog, manifest_path, read_records, sibling, write_records


def test_log_appends_and_reads_back_by_key(tmp_path):
    path = tmp_path / "c.jsonl"
    assert read_records(path) == {}
    with RecordLog(path) as log:
        log.append({"key": "a", "texts": ["x"]})
        log.append({"key": "b", "texts": ["\u00e9t\u00e9"]})
    with RecordLog(path) as log:
        log.append({"key": "a", "texts": ["y"]})
    records = read_records(path)
    assert list(records) == ["a", "b"] and records["a"]["texts"] == ["y"]
    assert records["b"]["texts"] == ["\u00e9t\u00e9"]


def test_a_torn_last_line_is_ignored_then_cut_before_the_next_append(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"key": "a"}\n{"key": "b", "te')
    assert list(read_records(path)) == ["a"]
    with RecordLog(path) as log:
        log.append({"key": "c"})
    assert path.read_text() == '{"key": "a"}\n{"key": "c"}\n'
    path.write_text('{"key": "only one, torn')
    RecordLog(path).close()
    assert path.read_text() == ""


def test_a_bad_line_in_the_middle_is_an_error(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"key": "a"}\nnot json\n{"key": "b"}\n')
    with pytest.raises(SkimError, match=r"c.jsonl, line 2: not a JSON record"):
        read_records(path)
    path.write_text('{"key": "a"}\n["no", "key"]\n')
    with pytest.raises(SkimError, match=r"line 2: a record must be an object"):
        read_records(path)


def test_write_records_is_whole_file(tmp_path):
    path = tmp_path / "out.jsonl"
    write_records(path, [{"key": "a"}, {"key": "b"}])
    assert [json.loads(x) for x in path.read_text().splitlines()] == [{"key": "a"}, {"key": "b"}]
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_a_full_disk_while_caching_names_the_cache(tmp_path, monkeypatch):
    from skim.errors import OutputError

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    with RecordLog(tmp_path / "c.jsonl") as log:
        monkeypatch.setattr(os, "fsync", full_disk)
        with pytest.raises(OutputError, match=r"cannot write .*c\.jsonl: No space left on device"):
            log.append({"key": "a"})


def test_sibling_and_manifest_names():
    assert sibling("out/demos.jsonl", ".failed.jsonl").as_posix() == "out/demos.failed.jsonl"
    assert sibling("demos", ".seed.npz").as_posix() == "demos.seed.npz"
    assert manifest_path("o/trn_X_Y_skim.npz").as_posix() == "o/trn_X_Y_skim.manifest.json"
    assert manifest_path("o/synthetic-slm.jsonl").as_posix() == "o/synthetic-slm.manifest.json"
