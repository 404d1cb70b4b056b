import pytest

from skim.data import escape, read_texts, unescape, write_texts
from skim.errors import DatasetError


def test_escape_round_trip_keeps_newlines_tabs_and_backslashes(tmp_path):
    records = ["plain", "tab\there", "new\nline", "back\\slash", "\\n literal", "", "ünïcode"]
    write_texts(tmp_path / "x.txt", records)
    raw = (tmp_path / "x.txt").read_text(encoding="utf-8")
    assert raw.count("\n") == len(records)
    assert read_texts(tmp_path / "x.txt") == records


def test_escape_is_one_line_per_record():
    assert escape("a\nb\tc\\d") == "a\\nb\\tc\\\\d"
    assert unescape("a\\nb\\tc\\\\d") == "a\nb\tc\\d"


def test_unknown_escape_is_kept_literally():
    assert unescape("C:\\x\\y") == "C:\\x\\y"


def test_crlf_and_missing_final_newline(tmp_path):
    (tmp_path / "x.txt").write_bytes(b"one\r\ntwo\r\nthree")
    assert read_texts(tmp_path / "x.txt") == ["one", "two", "three"]


def test_empty_file_has_no_records_and_blank_line_is_one_empty_record(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"")
    (tmp_path / "b.txt").write_bytes(b"\n")
    assert read_texts(tmp_path / "a.txt") == []
    assert read_texts(tmp_path / "b.txt") == [""]


def test_non_utf8_names_file_and_line(tmp_path):
    (tmp_path / "bad.txt").write_bytes(b"fine\nalso fine\nbad \xff byte\n")
    with pytest.raises(DatasetError, match=r"bad.txt, line 3: not valid UTF-8"):
        read_texts(tmp_path / "bad.txt")


def test_missing_file(tmp_path):
    with pytest.raises(DatasetError, match="missing.txt: file not found"):
        read_texts(tmp_path / "missing.txt")
