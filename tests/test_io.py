"""Atomic outputs: the umask's permissions, one-sentence write errors, folders swapped whole."""

import os
import stat

import pytest

from skim._io import atomic_dir, atomic_path, current_umask, write_json_atomic, write_text_atomic
from skim.errors import OutputError, SkimError

needs_non_root = pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores permissions"
)


@pytest.fixture
def umask():
    """Set the umask for one test and restore it afterwards."""
    old = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_current_umask_reads_without_changing_it(umask):
    umask(0o027)
    assert current_umask() == 0o027
    assert current_umask() == 0o027


@pytest.mark.parametrize(("mask", "file_mode", "dir_mode"), [
    (0o022, 0o644, 0o755), (0o002, 0o664, 0o775), (0o077, 0o600, 0o700),
])  # fmt: skip
def test_outputs_get_the_mode_the_umask_gives(tmp_path, umask, mask, file_mode, dir_mode):
    umask(mask)
    write_text_atomic(tmp_path / "out.txt", "x")
    with atomic_dir(tmp_path / "model") as folder:
        write_json_atomic(folder / "config.json", {})
    assert _mode(tmp_path / "out.txt") == file_mode
    assert _mode(tmp_path / "model") == dir_mode
    assert _mode(tmp_path / "model" / "config.json") == file_mode


@needs_non_root
def test_a_read_only_folder_is_one_sentence_and_leaves_nothing(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(OutputError, match=r"^cannot write .*ro/out\.json: Permission denied$"):
            write_json_atomic(folder / "out.json", {"a": 1})
        with pytest.raises(OutputError, match="Permission denied"):
            with atomic_dir(folder / "model"):
                pass
    finally:
        folder.chmod(0o755)
    assert list(folder.iterdir()) == []


def test_a_folder_where_the_output_goes_is_one_sentence(tmp_path):
    (tmp_path / "out.json").mkdir()
    with pytest.raises(OutputError, match=r"cannot write .*out\.json: it is a folder$"):
        write_json_atomic(tmp_path / "out.json", [1])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]  # no temporary left


def test_a_full_disk_while_writing_names_the_output(tmp_path):
    with pytest.raises(OutputError, match=r"cannot write .*out\.txt: No space left on device"):
        with atomic_path(tmp_path / "out.txt") as tmp:
            tmp.write_text("partial")
            raise OSError(28, "No space left on device")  # what write() raises on a full disk
    assert list(tmp_path.iterdir()) == []


def test_an_input_error_while_writing_is_not_blamed_on_the_output(tmp_path):
    with pytest.raises(FileNotFoundError) as caught:
        with atomic_path(tmp_path / "out.txt"):
            open(tmp_path / "missing-input.txt")  # noqa: SIM115 - raises before opening
    assert not isinstance(caught.value, OutputError)
    assert list(tmp_path.iterdir()) == []


def test_output_errors_are_user_errors_and_os_errors():
    assert issubclass(OutputError, SkimError) and issubclass(OutputError, OSError)


def test_a_failed_folder_rewrite_keeps_the_old_folder(tmp_path):
    target = tmp_path / "model"
    with atomic_dir(target) as folder:
        (folder / "weights").write_text("old")
    with pytest.raises(OutputError, match="No space left"):
        with atomic_dir(target) as folder:
            (folder / "weights").write_text("new, half")
            raise OSError(28, "No space left on device")
    assert (target / "weights").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    with atomic_dir(target) as folder:
        (folder / "weights").write_text("new")
    assert (target / "weights").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_a_folder_with_foreign_files_is_not_replaced(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match=r"holds 'notes.txt'"):
        with atomic_dir(target, keep=("weights",)):
            pass
    assert (target / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_a_dataset_folder_and_a_model_follow_the_umask(tmp_path, umask, tiny_dataset):
    import torch

    from skim.data.output import save_dataset_dir
    from skim.modelfolder import save_model

    umask(0o027)
    save_dataset_dir(tiny_dataset, tmp_path / "data")
    save_model(tmp_path / "model", {"learner": "ova"}, {"weight": torch.ones(2)})
    for folder in (tmp_path / "data", tmp_path / "model"):
        assert _mode(folder) == 0o750
        modes = {p.name: _mode(p) for p in folder.iterdir()}
        assert set(modes.values()) == {0o640}, modes


def test_a_refused_temporary_file_names_the_output(tmp_path, monkeypatch):
    """What a read-only folder does even to root-run tests: mkstemp is refused."""
    import tempfile

    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path))

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    with pytest.raises(OutputError, match=r"^cannot write .*/out\.json: Permission denied$"):
        write_json_atomic(tmp_path / "out.json", {})
    assert list(tmp_path.iterdir()) == []
