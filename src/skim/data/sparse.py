"""Label matrices: scipy ``.npz`` (never pickled) and the XC sparse text format.

Every matrix is returned as a float32 ``csr_matrix`` with sorted, de-duplicated indices and
values in [0, 1] (a stored value is a relevance score: 1 = click or gold, in (0, 1) = soft);
a predictions matrix (``load_matrix(path, scores=True)``) holds any finite score.
Every array of a file is checked before scipy sees it (dtype, dimensions, sizes that agree,
``indptr`` from 0 and never decreasing, integer indices in range, finite values), so a
malformed file is one :class:`~skim.errors.DatasetError` sentence, never another matrix.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from skim._io import atomic_path
from skim.data.readfile import open_input, parse_int, read_text
from skim.errors import DatasetError

MAX_DIM = 2**31 - 1
"""Most rows or columns of a label matrix: keeps ``row * n_cols + col`` within int64."""

_NPZ_KEYS = ("format", "shape", "data", "indices", "indptr", "row", "col", "coords")
_INTEGER, _REAL = "iu", "biuf"  # numpy dtype kinds
_KIND_NAMES = {_INTEGER: "integers", _REAL: "real numbers", "US": "a string"}
_NDIM_NAMES = {0: "a single value", 1: "one-dimensional", 2: "two-dimensional"}


def _sentence(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """The sparse-matrix arrays of an .npz; an object (pickled) array is never loaded."""
    with open_input(path) as handle:
        if not zipfile.is_zipfile(handle):
            raise DatasetError(f"{path}: not a valid scipy sparse .npz (not a zip archive)")
        handle.seek(0)
        try:
            with np.load(handle, allow_pickle=False) as npz:
                return {key: npz[key] for key in _NPZ_KEYS if key in npz.files}
        except ValueError as exc:
            if "pickle" in str(exc):
                raise DatasetError(
                    f"{path}: contains a pickled or object array, which skim never loads"
                ) from None
            raise DatasetError(f"{path}: not a valid .npz archive ({_sentence(exc)})") from None
        except (
            OSError,
            EOFError,
            KeyError,
            NotImplementedError,
            zipfile.BadZipFile,
            zlib.error,
        ) as exc:
            raise DatasetError(f"{path}: not a valid .npz archive ({_sentence(exc)})") from None


def _array(path: Path, arrays: dict, key: str, kinds: str, ndim: int = 1) -> np.ndarray:
    """``arrays[key]``, present, of a dtype kind in ``kinds`` and with ``ndim`` dimensions."""
    if key not in arrays:
        raise DatasetError(f"{path}: not a scipy sparse .npz (no {key!r} entry)")
    arr = arrays[key]
    if arr.dtype.kind not in kinds:
        raise DatasetError(f"{path}: {key!r} must hold {_KIND_NAMES[kinds]}, not {arr.dtype}")
    if arr.ndim != ndim:
        raise DatasetError(f"{path}: {key!r} must be {_NDIM_NAMES[ndim]}, not of shape {arr.shape}")
    return arr.astype(np.int64) if kinds == _INTEGER else arr


def _npz_shape(path: Path, arrays: dict) -> tuple[int, int]:
    shape = _array(path, arrays, "shape", _INTEGER)
    if len(shape) != 2 or shape.min() < 0 or shape.max() > MAX_DIM:
        raise DatasetError(
            f"{path}: 'shape' must be two sizes in [0, {MAX_DIM}], got {shape.tolist()}"
        )
    return int(shape[0]), int(shape[1])


def _compressed_coords(
    path: Path, arrays: dict, n_major: int, major: str
) -> tuple[np.ndarray, np.ndarray]:
    """Major and minor index of every entry of a CSR (major = row) or CSC matrix."""
    indptr = _array(path, arrays, "indptr", _INTEGER)
    indices = _array(path, arrays, "indices", _INTEGER)
    if len(indptr) != n_major + 1:
        raise DatasetError(
            f"{path}: 'indptr' has {len(indptr)} entries, expected {n_major + 1} "
            f"({n_major} {major}s + 1)"
        )
    if indptr[0] != 0:
        raise DatasetError(f"{path}: 'indptr' must start at 0, not {int(indptr[0])}")
    steps = np.diff(indptr)
    if (steps < 0).any():
        at = int(np.argmax(steps < 0)) + 1
        raise DatasetError(
            f"{path}: 'indptr' must never decrease, but entry {at} is {int(indptr[at])} "
            f"after {int(indptr[at - 1])}"
        )
    if indptr[-1] != len(indices):
        raise DatasetError(
            f"{path}: 'indptr' ends at {int(indptr[-1])} but 'indices' has {len(indices)} entries"
        )
    return np.repeat(np.arange(n_major, dtype=np.int64), steps), indices


def _npz_entries(path: Path, arrays: dict) -> tuple[np.ndarray, ...]:
    """Validated ``(rows, cols, data)`` of every stored entry of an .npz, and its shape."""
    if "format" not in arrays:
        raise DatasetError(f"{path}: not a scipy sparse .npz (no 'format' entry)")
    fmt = _array(path, arrays, "format", "US", ndim=0).item()
    fmt = fmt.decode("ascii", "replace") if isinstance(fmt, bytes) else str(fmt)
    if fmt not in ("csr", "csc", "coo"):
        raise DatasetError(f"{path}: unsupported sparse format {fmt!r} (skim reads csr, csc, coo)")
    shape = _npz_shape(path, arrays)
    data = _array(path, arrays, "data", _REAL)
    if fmt == "csr":
        rows, cols = _compressed_coords(path, arrays, shape[0], "row")
    elif fmt == "csc":
        cols, rows = _compressed_coords(path, arrays, shape[1], "column")
    elif "row" in arrays or "coords" not in arrays:
        rows, cols = _array(path, arrays, "row", _INTEGER), _array(path, arrays, "col", _INTEGER)
    else:
        coords = _array(path, arrays, "coords", _INTEGER, ndim=2)
        if len(coords) != 2:
            raise DatasetError(f"{path}: 'coords' must have 2 rows, not {len(coords)}")
        rows, cols = coords
    if not len(rows) == len(cols) == len(data):
        what = "'indices' has" if fmt != "coo" else "the coordinates have"
        raise DatasetError(f"{path}: 'data' has {len(data)} entries but {what} {len(cols)}")
    return rows, cols, data, shape


def _from_xc_text(path: Path) -> tuple[np.ndarray, ...]:
    """Validated ``(rows, cols, data, shape)`` of an XC sparse text file."""
    lines = read_text(path).split("\n")
    header = lines[0].split()
    if len(header) != 2:
        raise DatasetError(f"{path}, line 1: header must be 'rows cols', got {lines[0]!r}")
    shape = tuple(
        parse_int(token, f"{path}, line 1", what)
        for token, what in zip(header, ("row count", "column count"), strict=True)
    )
    if max(shape) > MAX_DIM or min(shape) < 0:
        raise DatasetError(
            f"{path}, line 1: sizes must lie in [0, {MAX_DIM}], got {shape[0]} x {shape[1]}"
        )
    body = lines[1:]
    if body and body[-1] == "":
        body.pop()
    if len(body) != shape[0]:
        raise DatasetError(
            f"{path}, line 1: header says {shape[0]} rows but the file has {len(body)}"
        )
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for i, line in enumerate(body):
        for entry in line.split():
            col, sep, val = entry.partition(":")
            if not sep:
                raise DatasetError(f"{path}, line {i + 2}: entry {entry!r} is not 'col:val'")
            cols.append(parse_int(col, f"{path}, line {i + 2}", "column"))
            try:
                vals.append(float(val))
            except ValueError:
                raise DatasetError(f"{path}, line {i + 2}: value {val!r} is not a number") from None
            rows.append(i)
    return (
        np.asarray(rows, dtype=np.int64),
        np.asarray(cols, dtype=np.int64),
        np.asarray(vals, dtype=np.float64),
        shape,
    )


def _check_entries(
    path: Path, rows: np.ndarray, cols: np.ndarray, data: np.ndarray, shape: tuple[int, int],
    text: bool, scores: bool = False,
) -> None:  # fmt: skip
    """Raise a DatasetError naming the first entry out of range or with a bad value.

    ``text``: the entries come from an XC text file; name the line (row + 2), not the row.
    ``scores``: any finite float32 value is good (predictions), not only [0, 1] (labels).
    """
    bad = (rows < 0) | (rows >= shape[0])  # only a coo .npz can have such rows
    if bad.any():
        k = int(np.argmax(bad))
        raise DatasetError(
            f"{path}: column {int(cols[k])} has row index {int(rows[k])} outside [0, {shape[0]})"
        )
    bad = (cols < 0) | (cols >= shape[1])
    if bad.any():
        k = int(np.argmax(bad))
        r, c = int(rows[k]), int(cols[k])
        where = f"{path}, line {r + 2}:" if text else f"{path}: row {r} has"
        raise DatasetError(f"{where} column index {c} outside [0, {shape[1]})")
    values = data.astype(np.float64)
    if scores:
        bad = ~np.isfinite(values) | (np.abs(values) > np.finfo(np.float32).max)
        rule = "scores must be finite float32 numbers (not NaN or infinite)"
    else:
        bad = ~np.isfinite(values) | (values < 0) | (values > 1)
        rule = "values must be in [0, 1] and not NaN"
    if bad.any():
        k = int(np.argmax(bad))
        r, c = int(rows[k]), int(cols[k])
        where = f"{path}, line {r + 2}: column {c}" if text else f"{path}: row {r}, column {c}"
        raise DatasetError(f"{where} has value {float(values[k])}; {rule}")


def load_matrix(path: str | os.PathLike, scores: bool = False) -> sp.csr_matrix:
    """Load a label matrix from ``.npz`` or XC sparse text (``.txt``) and validate it.

    Duplicate entries are merged by their maximum; indices come back sorted. With ``scores``
    the file is a predictions matrix: any finite value (a logit, a raw cosine) is accepted.

    Raises
    ------
    DatasetError
        If the file cannot be read, holds a pickled or object array, is malformed (an array
        of the wrong dtype or size, ``indptr`` not from 0 or decreasing, a bad header or
        line), or has an index out of range or a value outside [0, 1] (not finite, with
        ``scores``) or NaN.
    """
    path = Path(path)
    text = path.suffix == ".txt"
    rows, cols, data, shape = _from_xc_text(path) if text else _npz_entries(path, _read_npz(path))
    _check_entries(path, rows, cols, data, shape, text, scores)
    return canonical(sp.coo_matrix((data.astype(np.float32), (rows, cols)), shape=shape))


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
    """Path of ``stem.npz`` in ``directory``, else of ``stem.txt``, else None.

    A name that is there but cannot be read (a broken link, a loop of links) still counts,
    so that loading it names the real problem.
    """
    directory = Path(directory)
    for suffix in (".npz", ".txt"):
        candidate = directory / f"{stem}{suffix}"
        if os.path.lexists(candidate):
            return candidate
    return None
