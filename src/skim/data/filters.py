"""Filter files: "row col" pairs (0-based) excluded from predictions at evaluation."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from skim._io import atomic_path
from skim.data.readfile import read_text
from skim.errors import DatasetError

XC_FILTER_FILES = {"trn": "filter_labels_train.txt", "tst": "filter_labels_test.txt"}
"""The filter files as the Extreme Classification Repository names them, by split."""


def read_filter(path: str | os.PathLike, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Read filter pairs as an ``(n, 2)`` int64 array; check them against ``shape``."""
    path = Path(path)
    pairs: list[tuple[int, int]] = []
    for lineno, line in enumerate(read_text(path).split("\n"), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2:
            raise DatasetError(f"{path}, line {lineno}: expected 'row col', got {line!r}")
        try:
            row, col = int(fields[0]), int(fields[1])
        except ValueError:
            raise DatasetError(
                f"{path}, line {lineno}: 'row col' must be integers, got {line.strip()!r}"
            ) from None
        if shape is not None and not (0 <= row < shape[0] and 0 <= col < shape[1]):
            raise DatasetError(
                f"{path}, line {lineno}: pair ({row}, {col}) is outside the "
                f"{shape[0]} x {shape[1]} label matrix"
            )
        pairs.append((row, col))
    return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)


def write_filter(path: str | os.PathLike, pairs: np.ndarray) -> None:
    """Write filter pairs one "row col" per line, atomically."""
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    with atomic_path(path) as tmp:
        np.savetxt(tmp, pairs, fmt="%d")
