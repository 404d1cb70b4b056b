"""Write a dataset directory as a whole, so a crash never leaves a mix of old and new files."""

from __future__ import annotations

import os
from pathlib import Path

from skim._io import atomic_dir
from skim.data.dataset import Dataset, save_dataset
from skim.errors import SkimError


def check_dataset_dir_output(out_dir: str | os.PathLike) -> None:
    """Raise a SkimError unless ``out_dir`` is new, empty or a dataset directory (has
    ``trn_X.txt``): what :func:`save_dataset_dir` may replace. Call it before long work."""
    out_dir = Path(out_dir)
    if out_dir.exists() and (
        not out_dir.is_dir() or (any(out_dir.iterdir()) and not (out_dir / "trn_X.txt").exists())
    ):
        raise SkimError(f"{out_dir}: exists and is not a dataset directory; choose a new path")


def save_dataset_dir(
    dataset: Dataset, out_dir: str | os.PathLike, extra_files: dict[str, str] | None = None
) -> Path:
    """Write ``dataset`` as a whole directory: built beside ``out_dir``, then swapped in.

    An interrupted run leaves the previous ``out_dir`` (or none) in place, never a mix. An
    existing ``out_dir`` is replaced only if it is a dataset directory (has ``trn_X.txt``)
    or empty, so a mistyped path cannot wipe unrelated files.
    """
    out_dir = Path(out_dir)
    check_dataset_dir_output(out_dir)
    with atomic_dir(out_dir) as tmp:
        save_dataset(dataset, tmp)
        for fname, text in (extra_files or {}).items():
            (tmp / fname).write_text(text, encoding="utf-8")
    return out_dir
