import os

import pytest

from skim.data.readfile import parse_int, read_text
from skim.errors import DatasetError


def test_read_text_names_the_reason(tmp_path):
    (tmp_path / "dir.txt").mkdir()
    os.symlink("b.txt", tmp_path / "a.txt")
    os.symlink("a.txt", tmp_path / "b.txt")
    os.symlink("gone.txt", tmp_path / "dangling.txt")
    (tmp_path / "bad.txt").write_bytes(b"ok\nok\n\xe9t\xe9\n")
    for name, reason in [
        ("dir.txt", "dir.txt: is a directory, not a config file"),
        ("a.txt", "a.txt: is a loop of symbolic links, not a config file"),
        ("dangling.txt", "dangling.txt: config file not found"),
        ("bad.txt", "bad.txt, line 3: not valid UTF-8"),
    ]:
        with pytest.raises(DatasetError, match=reason):
            read_text(tmp_path / name, "config file")


def test_parse_int_takes_ascii_digits_only():
    assert parse_int("-12", "f", "column") == -12 and parse_int("+3", "f", "column") == 3
    for token in ("1_0", "\u0663", "1.0", " 1", ""):
        with pytest.raises(DatasetError, match=r"f, line 2: column .* is not an integer"):
            parse_int(token, "f, line 2", "column")
