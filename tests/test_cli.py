"""The conventions of the ``skim`` command as a whole: a closed pipe, -v/-q, help, --json."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from skim.cli import CLOSED_PIPE_STATUS
from skim.data import save_dataset

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _closed_reader(args: list[str]) -> subprocess.CompletedProcess:
    """Run ``python -m skim ARGS`` with its stdout a pipe whose reader is already gone, as in
    ``skim ... | head -1`` once head has exited."""
    env = {**os.environ, "PYTHONPATH": SRC}
    read, write = os.pipe()
    os.close(read)  # no reader left: the first write fails with EPIPE
    try:
        return subprocess.run(
            [sys.executable, "-m", "skim", *args],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=120,
        )
    finally:
        os.close(write)


@pytest.fixture
def dataset_dir(tmp_path, tiny_dataset):
    return save_dataset(tiny_dataset, tmp_path / "ds")


@pytest.mark.parametrize("command", [["stats"], ["--help"]])
def test_a_closed_pipe_stops_quietly_without_a_traceback(dataset_dir, command):
    args = [*command, str(dataset_dir)] if command == ["stats"] else command
    done = _closed_reader(args)
    assert done.stderr == ""  # no traceback, no "Exception ignored ... BrokenPipeError"
    assert done.returncode in (0, CLOSED_PIPE_STATUS)
    if command == ["stats"]:
        assert done.returncode == CLOSED_PIPE_STATUS  # what a shell shows for `yes | head -1`


def test_a_closed_pipe_after_evaluate_is_quiet(tmp_path, dataset_dir, tiny_dataset):
    from skim.data import save_matrix

    save_matrix(tmp_path / "pred.npz", tiny_dataset.tst_X_Y)
    done = _closed_reader(["evaluate", str(dataset_dir), str(tmp_path / "pred.npz")])
    assert (done.returncode, done.stderr) == (CLOSED_PIPE_STATUS, "")
