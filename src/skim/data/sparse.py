"""Label matrices: scipy ``.npz`` (never pickled) and the XC sparse text format.

Every matrix is returned as a float32 ``csr_matrix`` with sorted, de-duplicated indices and
values in [0, 1] (a stored value is a relevance score: 1 = click or gold, in (0, 1) = soft).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from skim._io import atomic_path
from skim.errors import DatasetError

_FORMATS = {"csr": sp.csr_matrix, "csc": sp.csc_matrix, "bsr": sp.bsr_matrix}


def _from_npz(path: Path) -> sp.csr_matrix:
    if not zipfile.is_zipfile(path):
        raise DatasetError(f"{path}: not a valid scipy sparse .npz (not a zip archive)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = set(npz.files)
            if "format" not in keys:
                raise DatasetError(f"{path}: not a scipy sparse .npz (no 'format' entry)")
            fmt = npz["format"].item()
            fmt = fmt.decode("ascii", "replace") if isinstance(fmt, bytes) else str(fmt)
            shape = tuple(int(v) for v in npz["shape"])
            if fmt == "coo":
                rows = npz["row"] if "row" in keys else npz["coords"][0]
                cols = npz["col"] if "col" in keys else npz["coords"][1]
                return sp.coo_matrix((npz["data"], (rows, cols)), shape=shape).tocsr()
            if fmt not in _FORMATS:
                raise DatasetError(f"{path}: unsupported sparse format {fmt!r}")
            parts = (npz["data"], npz["indices"], npz["indptr"])
            for name, arr in zip(("data", "indices", "indptr"), parts, strict=True):
                if arr.dtype == object:
                    raise DatasetError(f"{path}: entry {name!r} is an object array")
            return _FORMATS[fmt](parts, shape=shape).tocsr()
    except DatasetError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc):
            raise DatasetError(
                f"{path}: contains a pickled or object array, which skim never loads"
            ) from None
        raise DatasetError(f"{path}: not a valid sparse matrix ({exc})") from None
    except (zipfile.BadZipFile, OSError, KeyError) as exc:
        raise DatasetError(f"{path}: not a valid scipy sparse .npz ({exc})") from None


def _parse_int(token: str, path: Path, lineno: int, what: str) -> int:
    try:
        return int(token)
    except ValueError:
        raise DatasetError(f"{path}, line {lineno}: {what} {token!r} is not an integer") from None


def _from_xc_text(path: Path) -> sp.csr_matrix:
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().split("\n")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not valid UTF-8 ({exc.reason})") from None
    header = lines[0].split()
    if len(header) != 2:
        raise DatasetError(f"{path}, line 1: header must be 'rows cols', got {lines[0]!r}")
    n_rows = _parse_int(header[0], path, 1, "row count")
    n_cols = _parse_int(header[1], path, 1, "column count")
    body = lines[1:]
    if body and body[-1] == "":
        body.pop()
    if len(body) != n_rows:
        raise DatasetError(f"{path}: header says {n_rows} rows but the file has {len(body)}")
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    cols: list[int] = []
    vals: list[float] = []
    for i, line in enumerate(body):
        for entry in line.split():
            col, sep, val = entry.partition(":")
            if not sep:
                raise DatasetError(f"{path}, line {i + 2}: entry {entry!r} is not 'col:val'")
            cols.append(_parse_int(col, path, i + 2, "column"))
            try:
                vals.append(float(val))
            except ValueError:
                raise DatasetError(f"{path}, line {i + 2}: value {val!r} is not a number") from None
        indptr[i + 1] = len(cols)
    indices = np.asarray(cols, dtype=np.int64)
    data = np.asarray(vals, dtype=np.float64)
    _check_entries(path, indices, data, n_cols, indptr)
    return sp.csr_matrix((data, indices, indptr), shape=(n_rows, n_cols))


def _check_entries(
    path: Path, indices: np.ndarray, data: np.ndarray, n_cols: int, indptr: np.ndarray
) -> None:
    """Raise a DatasetError naming the first bad entry (row and column)."""
    bad = (indices < 0) | (indices >= n_cols)
    if bad.any():
        k = int(np.argmax(bad))
        row = int(np.searchsorted(indptr, k, side="right") - 1)
        raise DatasetError(
            f"{path}: row {row} has column index {int(indices[k])} outside [0, {n_cols})"
        )
    bad = ~np.isfinite(data) | (data < 0) | (data > 1)
    if bad.any():
        k = int(np.argmax(bad))
        row = int(np.searchsorted(indptr, k, side="right") - 1)
        raise DatasetError(
            f"{path}: row {row}, column {int(indices[k])} has value {float(data[k])}; "
            "values must be in [0, 1] and not NaN"
        )


def load_matrix(path: str | os.PathLike) -> sp.csr_matrix:
    """Load a label matrix from ``.npz`` or XC sparse text (``.txt``) and validate it.

    Duplicate entries are merged by their maximum; indices come back sorted.

    Raises
    ------
    DatasetError
        If the file is missing, pickled, malformed, has an index out of range or a value
        outside [0, 1] or NaN.
    """
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: file not found")
    if path.suffix == ".txt":
        matrix = _from_xc_text(path)
    else:
        matrix = _from_npz(path)
        _check_entries(path, matrix.indices, matrix.data, matrix.shape[1], matrix.indptr)
    return canonical(matrix)


def canonical(matrix: sp.spmatrix | sp.sparray) -> sp.csr_matrix:
    """Return ``matrix`` as float32 CSR with sorted indices, duplicates merged by max."""
    coo = sp.coo_matrix(matrix)
    if coo.nnz:
        key = coo.row.astype(np.int64) * coo.shape[1] + coo.col
        order = np.lexsort((-coo.data, key))
        key, data = key[order], coo.data[order]
        first = np.ones(len(key), dtype=bool)
        first[1:] = key[1:] != key[:-1]
        key, data = key[first], data[first]
        rows, cols = np.divmod(key, coo.shape[1])
    else:
        rows = cols = np.zeros(0, dtype=np.int64)
        data = np.zeros(0, dtype=np.float32)
    out = sp.csr_matrix((data.astype(np.float32), (rows, cols)), shape=coo.shape)
    out.sort_indices()
    return out


def save_matrix(path: str | os.PathLike, matrix: sp.spmatrix | sp.sparray) -> None:
    """Save a label matrix atomically: ``.npz`` (compressed CSR) or XC text for ``.txt``."""
    path = Path(path)
    matrix = canonical(matrix)
    if path.suffix == ".txt":
        with atomic_path(path) as tmp:
            with open(tmp, "w", encoding="utf-8") as handle:
                handle.write(f"{matrix.shape[0]} {matrix.shape[1]}\n")
                for i in range(matrix.shape[0]):
                    lo, hi = matrix.indptr[i], matrix.indptr[i + 1]
                    handle.write(
                        " ".join(
                            f"{c}:{v:.6g}"
                            for c, v in zip(matrix.indices[lo:hi], matrix.data[lo:hi], strict=True)
                        )
                    )
                    handle.write("\n")
        return
    with atomic_path(path, suffix=".npz") as tmp:
        sp.save_npz(tmp, matrix, compressed=True)


def resolve_matrix(directory: str | os.PathLike, stem: str) -> Path | None:
    """Path of ``stem.npz`` in ``directory``, else of ``stem.txt``, else None."""
    directory = Path(directory)
    for suffix in (".npz", ".txt"):
        candidate = directory / f"{stem}{suffix}"
        if candidate.exists():
            return candidate
    return None
