"""The dataset directory of DATASET.md as one validated object."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from skim._io import write_json_atomic
from skim.data.filters import XC_FILTER_FILES, read_filter, write_filter
from skim.data.propensity import DEFAULT_A, DEFAULT_B, inverse_propensity
from skim.data.readfile import parse_json, read_text
from skim.data.sparse import load_matrix, resolve_matrix, save_matrix
from skim.data.textio import read_texts, write_texts
from skim.errors import DatasetError

LOGGER = logging.getLogger(__name__)

_EMPTY_PAIRS = np.zeros((0, 2), dtype=np.int64)


@dataclass
class Dataset:
    """An XC dataset: query and label texts, metadata and label matrices.

    Attributes mirror the files of DATASET.md; optional files are ``None`` when absent
    (filters are then empty arrays).
    """

    trn_texts: list[str]
    tst_texts: list[str]
    label_texts: list[str]
    trn_X_Y: sp.csr_matrix
    tst_X_Y: sp.csr_matrix
    trn_X_Y_unbiased: sp.csr_matrix | None = None
    tst_X_Y_unbiased: sp.csr_matrix | None = None
    trn_meta: list[str] | None = None
    tst_meta: list[str] | None = None
    label_meta: list[str] | None = None
    trn_filter: np.ndarray = field(default_factory=lambda: _EMPTY_PAIRS)
    tst_filter: np.ndarray = field(default_factory=lambda: _EMPTY_PAIRS)
    info: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def n_trn(self) -> int:
        return len(self.trn_texts)

    @property
    def n_tst(self) -> int:
        return len(self.tst_texts)

    @property
    def n_labels(self) -> int:
        return len(self.label_texts)

    @property
    def propensity_a(self) -> float:
        return float(self.info.get("propensity", {}).get("A", DEFAULT_A))

    @property
    def propensity_b(self) -> float:
        return float(self.info.get("propensity", {}).get("B", DEFAULT_B))

    def inv_propensity(self) -> np.ndarray:
        """Inverse propensity weight of every label, from the observed train labels."""
        return inverse_propensity(self.trn_X_Y, self.propensity_a, self.propensity_b)

    def replace(self, **changes: Any) -> Dataset:
        """A copy with some fields replaced (e.g. new observed matrices)."""
        return dataclasses.replace(self, **changes)

    def validate(self, files: dict[str, Path | None] | None = None) -> None:
        """Check that every part agrees with the others; raise DatasetError if not.

        ``files`` maps a matrix (``"trn_X_Y"``, ...) to the file it was read from, for the
        messages.
        """
        where = self.path or Path("<dataset>")
        files = files or {}
        _check_propensity(where / "dataset.json", self.info.get("propensity", {}))
        n_lab = self.n_labels
        for name, rows in (
            ("trn_X_Y", self.n_trn),
            ("tst_X_Y", self.n_tst),
            ("trn_X_Y_unbiased", self.n_trn),
            ("tst_X_Y_unbiased", self.n_tst),
        ):
            matrix = getattr(self, name)
            if matrix is not None and matrix.shape != (rows, n_lab):
                text = "trn_X.txt" if name.startswith("trn") else "tst_X.txt"
                raise DatasetError(
                    f"{files.get(name) or where / name}: shape {matrix.shape[0]} x "
                    f"{matrix.shape[1]} does not match {text} ({rows} lines) x Y.txt "
                    f"({n_lab} lines)"
                )
        for name, texts, fname in (
            ("trn_meta", self.trn_texts, "trn_X.txt"),
            ("tst_meta", self.tst_texts, "tst_X.txt"),
            ("label_meta", self.label_texts, "Y.txt"),
        ):
            meta = getattr(self, name)
            if meta is not None and len(meta) != len(texts):
                raise DatasetError(
                    f"{where / _META_FILES[name]}: {len(meta)} lines but {fname} has {len(texts)}"
                )
        for name, rows in (("trn_filter", self.n_trn), ("tst_filter", self.n_tst)):
            pairs = getattr(self, name)
            if len(pairs) and (
                pairs.min() < 0 or pairs[:, 0].max() >= rows or pairs[:, 1].max() >= n_lab
            ):
                raise DatasetError(
                    f"{where / _FILTER_FILES[name]}: a pair lies outside the "
                    f"{rows} x {n_lab} label matrix"
                )


_META_FILES = {
    "trn_meta": "trn_X.meta.txt",
    "tst_meta": "tst_X.meta.txt",
    "label_meta": "Y.meta.txt",
}
_FILTER_FILES = {"trn_filter": "trn_filter_labels.txt", "tst_filter": "tst_filter_labels.txt"}
_XC_DOWNLOAD_FILES = ("trn.json.gz", "train.txt")  # what skim.data.xcrepo imports
_MATRICES = ("trn_X_Y", "tst_X_Y", "trn_X_Y_unbiased", "tst_X_Y_unbiased")


def _check_propensity(info_path: Path, prop: Any) -> None:
    """``propensity`` must be ``{"A": a, "B": b}`` (either optional), finite numbers > 0."""
    if not isinstance(prop, dict):
        raise DatasetError(
            f'{info_path}: key "propensity" must be an object like {{"A": 0.55, "B": 1.5}}'
        )
    for key, value in prop.items():
        if key not in ("A", "B"):
            raise DatasetError(
                f'{info_path}: unknown key {key!r} in "propensity" (it takes "A" and "B")'
            )
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        try:
            good = number and math.isfinite(value) and value > 0
        except OverflowError:  # an integer beyond float range
            good = False
        if not good:
            raise DatasetError(
                f'{info_path}: key "propensity.{key}" must be a finite number > 0, '
                f"got {json.dumps(value)[:40]}"
            )


def _read_info(path: Path) -> dict[str, Any]:
    info_path = path / "dataset.json"
    if not os.path.lexists(info_path):
        return {}
    info = parse_json(read_text(info_path), str(info_path))
    if not isinstance(info, dict):
        raise DatasetError(f"{info_path}: must hold a JSON object")
    _check_propensity(info_path, info.get("propensity", {}))
    if not isinstance(info.get("simulation", {}), dict):
        raise DatasetError(f'{info_path}: key "simulation" must be an object')
    return info


def load_dataset(path: str | os.PathLike) -> Dataset:
    """Read and validate a dataset directory (DATASET.md).

    Raises
    ------
    DatasetError
        With one sentence naming the file (and line) for any missing or inconsistent part.
    """
    path = Path(path)
    if not path.is_dir():
        raise DatasetError(f"{path}: not a dataset directory")
    download = [name for name in _XC_DOWNLOAD_FILES if os.path.lexists(path / name)]
    if download and not os.path.lexists(path / "trn_X.txt"):
        raise DatasetError(
            f"{path / download[0]}: an XC repository download, not the dataset layout; "
            f"convert it with: skim datasets import {path} OUT"
        )
    parts: dict[str, Any] = {"path": path, "info": _read_info(path)}
    for attr, fname in (
        ("trn_texts", "trn_X.txt"),
        ("tst_texts", "tst_X.txt"),
        ("label_texts", "Y.txt"),
    ):
        parts[attr] = read_texts(path / fname)
    for attr, fname in _META_FILES.items():
        parts[attr] = read_texts(path / fname) if os.path.lexists(path / fname) else None
    files = {}
    for name in _MATRICES:
        found = resolve_matrix(path, name)
        if found is None and name in ("trn_X_Y", "tst_X_Y"):
            raise DatasetError(f"{path / name}.npz: required file not found")
        parts[name] = load_matrix(found) if found is not None else None
        files[name] = found
    dataset = Dataset(**parts)
    dataset.validate(files)
    for attr, fname in _FILTER_FILES.items():
        found = _filter_file(path, fname, XC_FILTER_FILES[attr.removesuffix("_filter")])
        if found is not None:
            rows = dataset.n_trn if attr == "trn_filter" else dataset.n_tst
            setattr(dataset, attr, read_filter(found, (rows, dataset.n_labels)))
    return dataset


def _filter_file(path: Path, name: str, xc_name: str) -> Path | None:
    """The filter file to read: DATASET.md's ``name``, else the XC repository's ``xc_name``.

    The XC repository publishes its filters as ``filter_labels_{train,test}.txt`` (same
    "row col" format); they are read, not silently ignored. When both names are there, the
    XC one is ignored with a warning naming it.
    """
    own, xc = path / name, path / xc_name
    if not os.path.lexists(xc):
        return own if os.path.lexists(own) else None
    if not os.path.lexists(own):
        return xc
    LOGGER.warning("%s is ignored; %s is read instead", xc, name)
    return own


def save_dataset(dataset: Dataset, path: str | os.PathLike) -> Path:
    """Write every present part of ``dataset`` into directory ``path`` (atomically per file)."""
    dataset.validate()
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    write_texts(path / "trn_X.txt", dataset.trn_texts)
    write_texts(path / "tst_X.txt", dataset.tst_texts)
    write_texts(path / "Y.txt", dataset.label_texts)
    for attr, fname in _META_FILES.items():
        if getattr(dataset, attr) is not None:
            write_texts(path / fname, getattr(dataset, attr))
    for name in _MATRICES:
        if getattr(dataset, name) is not None:
            save_matrix(path / f"{name}.npz", getattr(dataset, name))
    for attr, fname in _FILTER_FILES.items():
        if len(getattr(dataset, attr)):
            write_filter(path / fname, getattr(dataset, attr))
    if dataset.info:
        write_json_atomic(path / "dataset.json", dataset.info)
    return path


def as_dataset(dataset: Dataset | str | os.PathLike) -> Dataset:
    """A loaded dataset as it is, or the dataset directory ``dataset`` read and validated:
    what every stage accepts for its ``dataset`` argument."""
    return dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
