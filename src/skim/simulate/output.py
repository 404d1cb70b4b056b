"""Write a dataset directory as a whole, so a crash never leaves a mix of old and new files."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from skim.data import Dataset, save_dataset
from skim.errors import SkimError


def save_dataset_dir(
    dataset: Dataset, out_dir: str | os.PathLike, extra_files: dict[str, str] | None = None
) -> Path:
    """Write ``dataset`` as a whole directory: built beside ``out_dir``, then swapped in.

    An interrupted run leaves the previous ``out_dir`` (or none) in place, never a mix. An
    existing ``out_dir`` is replaced only if it is a dataset directory (has ``trn_X.txt``)
    or empty, so a mistyped path cannot wipe unrelated files.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and (
        not out_dir.is_dir() or (any(out_dir.iterdir()) and not (out_dir / "trn_X.txt").exists())
    ):
        raise SkimError(f"{out_dir}: exists and is not a dataset directory; choose a new path")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.tmp-"))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp's 0700 would otherwise become the dataset's mode
    old = None
    try:
        save_dataset(dataset, tmp)
        for fname, text in (extra_files or {}).items():
            (tmp / fname).write_text(text, encoding="utf-8")
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.old-"))
            os.replace(out_dir, old / "d")
        os.replace(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return out_dir
