"""Import the Extreme Classification Repository's published layouts into DATASET.md.

Two layouts are read, streamed line by line (``.gz`` decompressed on the fly), so memory grows
with the output only:

``bow``
    ``train.txt`` / ``test.txt`` (or one ``NAME_train.txt`` / ``NAME_test.txt`` pair), the
    format pyxclib's ``read_data`` reads: a header ``N F L`` (rows, features, labels), then one
    row per line, ``l1,l2,... f:v f:v ...`` with 0-based indices; a row without labels starts
    with its first feature (``f:v``) or a space, a blank line is a row with neither (sklearn's
    reader would skip it and shift every later row), and ``#`` starts a comment. Labels become
    ``trn_X_Y`` / ``tst_X_Y`` (value 1). DATASET.md has no place for features: they are
    written as ``trn_X_Xf.npz`` / ``tst_X_Xf.npz`` (the XC repository's own names, scipy
    CSR float32, values as published) beside the dataset, which skim itself never reads. These
    files hold no texts, and every skim stage (teach, generate, map, the learners) reads
    texts, so a bag-of-words import needs ``texts``: a folder with ``trn_X.txt``,
    ``tst_X.txt`` and ``Y.txt`` aligned with the rows and label indices; without it the
    import stops with one sentence saying so.
``json``
    The LF-* raw-text layout (LF-AmazonTitles-131K, LF-WikiSeeAlso-320K, ...; also the raw
    AmazonCat-13K): ``trn.json.gz``, ``tst.json.gz`` and ``lbl.json.gz``, one JSON object a
    line with ``uid``, ``title``, ``content`` and (queries only) ``target_ind``, the 0-based
    line of each label in ``lbl.json.gz``. The title is the text; the content goes to the
    ``*.meta.txt`` metadata (what SKIM generates from; ``content="text"`` appends it to the
    title with a space instead, ``"drop"`` leaves it out; an all-empty content writes no
    metadata file). ``target_rel`` is not read: labels are binary (value 1), as XC
    evaluation treats them. ``uid`` is not kept; line ``i`` of every output file is record
    ``i`` of its JSON file (blank lines are skipped).

In both layouts ``filter_labels_train.txt`` / ``filter_labels_test.txt`` ("row col", 0-based:
the reciprocal pairs the XC repository removes from predictions at evaluation) become
``trn_filter_labels.txt`` / ``tst_filter_labels.txt``, which ``skim evaluate`` applies.
Other files the repository's downloads hold (:data:`OTHER_XC_FILES`: the sparse-format labels
and features ``trn_X_Y.txt``, ``trn_X_Xf.txt``, ..., vocabularies, raw texts outside the
``texts`` folder, the other layout's files) are not read: one warning names those present.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import math
import os
import re
import zlib
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from skim._log import progress_enabled
from skim.data.dataset import Dataset
from skim.data.filters import XC_FILTER_FILES, read_filter
from skim.data.readfile import open_input, parse_int, parse_json
from skim.data.sparse import MAX_DIM, canonical, save_matrix
from skim.data.textio import read_texts
from skim.errors import DatasetError

LAYOUTS = ("bow", "json")
CONTENT_MODES = ("meta", "text", "drop")
JSON_FILES = {"trn": "trn.json.gz", "tst": "tst.json.gz", "lbl": "lbl.json.gz"}
FILTER_FILES = XC_FILTER_FILES
FEATURE_FILES = {"trn": "trn_X_Xf.npz", "tst": "tst_X_Xf.npz"}
TEXT_FILES = {"trn": "trn_X.txt", "tst": "tst_X.txt", "lbl": "Y.txt"}
# what else an XC repository download may hold: the sparse "rows cols" text versions of the
# labels and features, the label features, the feature and label vocabularies
OTHER_XC_FILES = ("trn_X_Y.txt", "tst_X_Y.txt", "trn_X_Xf.txt", "tst_X_Xf.txt", "lbl_X_Xf.txt",
                  "trn_X_Xf.npz", "tst_X_Xf.npz", "Xf.txt", "Yf.txt")  # fmt: skip
KNOWN_FILES = (*JSON_FILES.values(), "train.txt", "test.txt", *TEXT_FILES.values(),
               *OTHER_XC_FILES)  # fmt: skip

LOGGER = logging.getLogger(__name__)

_PROGRESS_EVERY = 4096  # lines between two updates of the progress bar


@contextlib.contextmanager
def _lines(path: Path, progress: bool = False) -> Iterator[Iterator[tuple[int, str]]]:
    """``(line number, text)`` of every line of ``path`` (gunzipped if it ends in ``.gz``).

    Opening, decompressing or decoding failures are one DatasetError naming the file and the
    line; the progress bar (stderr) counts the bytes read from disk.
    """
    with open_input(path) as raw:
        stream = gzip.GzipFile(fileobj=raw) if path.suffix == ".gz" else raw
        bar = None
        if progress_enabled(progress):
            from tqdm.auto import tqdm

            bar = tqdm(total=os.fstat(raw.fileno()).st_size, unit="B", unit_scale=True,
                       desc=f"import {path.name}")  # fmt: skip

        def read() -> Iterator[tuple[int, str]]:
            lineno = 0
            try:
                for lineno, data in enumerate(stream, start=1):
                    if bar is not None and lineno % _PROGRESS_EVERY == 0:
                        bar.update(raw.tell() - bar.n)
                    try:
                        text = data.decode("utf-8")
                    except UnicodeDecodeError as exc:
                        raise DatasetError(
                            f"{path}, line {lineno}: not valid UTF-8 ({exc.reason})"
                        ) from None
                    yield lineno, text.rstrip("\r\n")
            except (OSError, EOFError, zlib.error) as exc:
                reason = " ".join(str(exc).split()) or type(exc).__name__
                after = f" after line {lineno}" if lineno else ""
                raise DatasetError(f"{path}: cannot be read{after} ({reason})") from None
            if bar is not None:
                bar.update(bar.total - bar.n)

        try:
            yield read()
        finally:
            if bar is not None:
                bar.close()


def _csr(counts: array, cols: array, vals: array | None, shape: tuple[int, int]) -> sp.csr_matrix:
    """A canonical float32 CSR from entries per row and their columns (values 1 if ``vals``
    is None)."""
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.frombuffer(counts, dtype=np.int64), out=indptr[1 : len(counts) + 1])
    c = np.frombuffer(cols, dtype=np.int64)
    v = np.ones(len(c), np.float32) if vals is None else np.frombuffer(vals, dtype=np.float32)
    matrix = sp.csr_matrix((v.copy(), c.copy(), indptr), shape=shape)
    # published files list each row's indices sorted and once: then no sort (and its copies)
    return matrix if matrix.has_canonical_format else canonical(matrix)


def _index(token: str, where: str, what: str, bound: int, bound_name: str) -> int:
    value = parse_int(token, where, what)
    if not 0 <= value < bound:
        raise DatasetError(f"{where}: {what} {value} is outside [0, {bound}) ({bound_name})")
    return value


# ``index:value`` tokens, ASCII digits only: the fast path of _features parses them with numpy
_FEATURE_TOKENS = re.compile(r"(?:[0-9]+:[^\s:]+(?:\s+|$))*", re.ASCII)


def _features(text: str, where: str, n_feat: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (int64) and values (float32) of the ``index:value`` tokens of one row.

    One numpy parse per row; a row it does not take as a whole (a bad token, an index out of
    range, a value that is not finite) is read again token by token for the exact error.
    """
    if _FEATURE_TOKENS.fullmatch(text):
        try:
            nums = np.fromstring(text.replace(":", " "), sep=" ")
        except ValueError:
            nums = None
        if nums is not None and len(nums) == 2 * text.count(":"):
            idx, vals = nums[0::2], nums[1::2]
            if (idx < n_feat).all() and np.isfinite(vals).all():
                return idx.astype(np.int64), vals.astype(np.float32)
    idx_list, val_list = [], []
    for token in text.split():
        idx, sep, val = token.partition(":")
        if not sep:
            raise DatasetError(f"{where}: feature {token!r} is not 'index:value'")
        idx_list.append(_index(idx, where, "feature", n_feat, "F in the header"))
        try:
            value = float(val)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise DatasetError(f"{where}: feature value {val!r} is not a finite number")
        val_list.append(value)
    return np.asarray(idx_list, dtype=np.int64), np.asarray(val_list, dtype=np.float32)


def _header(path: Path, first: tuple[int, str] | None) -> tuple[int, int, int]:
    head = first[1].split() if first else []
    if len(head) != 3:
        raise DatasetError(
            f"{path}, line 1: header must be 'N F L' (rows, features, labels), "
            f"got {first[1][:60] if first else ''!r}"
        )
    sizes = tuple(
        parse_int(token, f"{path}, line 1", what)
        for token, what in zip(head, ("row count", "feature count", "label count"), strict=True)
    )
    if min(sizes) < 0 or max(sizes) > MAX_DIM:
        raise DatasetError(f"{path}, line 1: sizes must lie in [0, {MAX_DIM}]")
    return sizes


def read_bow(
    path: str | os.PathLike, progress: bool = False
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Read an XC bag-of-words file (header ``N F L``): ``(features N x F, labels N x L)``.

    Labels have value 1; features keep their published values (float32).

    Raises
    ------
    DatasetError
        Naming the file and line: a bad header, a row count that differs from ``N``, an index
        outside its range, a value that is not a finite number.
    """
    path = Path(path)
    f_counts, f_cols, f_vals = array("q"), array("q"), array("f")
    l_counts, l_cols = array("q"), array("q")
    with _lines(path, progress) as lines:
        n, n_feat, n_lab = _header(path, next(lines, None))
        for lineno, line in lines:
            where = f"{path}, line {lineno}"
            if lineno - 1 > n:
                raise DatasetError(f"{where}: header says {n} rows but there are more")
            body = line.split("#", 1)[0].strip()
            head, rest = (body.split(None, 1) + ["", ""])[:2]
            if ":" in head:  # no labels: the row starts with a feature (or a space)
                head, rest = "", body
            labels = head.split(",") if head else []
            l_counts.append(len(labels))
            l_cols.extend(_index(t, where, "label", n_lab, "L in the header") for t in labels)
            idx, vals = _features(rest, where, n_feat)
            f_counts.append(len(idx))
            f_cols.frombytes(idx.tobytes())
            f_vals.frombytes(vals.tobytes())
        if len(f_counts) != n:
            raise DatasetError(
                f"{path}, line 1: header says {n} rows but the file has {len(f_counts)}"
            )
    return _csr(f_counts, f_cols, f_vals, (n, n_feat)), _csr(l_counts, l_cols, None, (n, n_lab))


def read_json_records(
    path: str | os.PathLike,
    n_labels: int | None = None,
    content: str = "meta",
    progress: bool = False,
) -> tuple[list[str], list[str] | None, sp.csr_matrix | None]:
    """Read an LF-* JSON-lines file: ``(texts, metadata or None, labels or None)``.

    ``n_labels`` given: every record needs ``target_ind`` (0-based lines of ``lbl.json.gz``)
    and a ``records x n_labels`` matrix comes back. ``content``: see the module docstring;
    metadata is None unless ``content="meta"`` and some record has a non-empty one.

    Raises
    ------
    DatasetError
        Naming the file and line: a line that is not a JSON object, a missing or mistyped
        field, a label index outside ``[0, n_labels)``.
    """
    if content not in CONTENT_MODES:
        raise DatasetError(f"content must be one of {', '.join(CONTENT_MODES)}, got {content!r}")
    path = Path(path)
    texts: list[str] = []
    meta: list[str] = []
    counts, cols = array("q"), array("q")
    with _lines(path, progress) as lines:
        for lineno, line in lines:
            if not line.strip():
                continue
            record = _json_object(line, f"{path}, line {lineno}")
            title = _string(record, "title", f"{path}, line {lineno}", required=True)
            body = _string(record, "content", f"{path}, line {lineno}", required=False)
            if content == "text" and body:
                title = f"{title} {body}" if title else body
            texts.append(title)
            meta.append(body if content == "meta" else "")
            if n_labels is not None:
                targets = _targets(record, f"{path}, line {lineno}", n_labels)
                counts.append(len(targets))
                cols.extend(targets)
    labels = None if n_labels is None else _csr(counts, cols, None, (len(texts), n_labels))
    return texts, (meta if any(meta) else None), labels


def _json_object(line: str, where: str) -> dict[str, Any]:
    record = parse_json(line, where)
    if not isinstance(record, dict):
        raise DatasetError(f'{where}: expected a JSON object with "title", got {line[:40]!r}')
    return record


def _string(record: dict, key: str, where: str, required: bool) -> str:
    value = record.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        got = "nothing" if key not in record else json.dumps(value)[:40]
        raise DatasetError(f'{where}: "{key}" must be a string, got {got}')
    return value


def _targets(record: dict, where: str, n_labels: int) -> list[int]:
    targets = record.get("target_ind")
    if not isinstance(targets, list):
        got = "nothing" if "target_ind" not in record else json.dumps(targets)[:40]
        raise DatasetError(f'{where}: "target_ind" must be a list of label indices, got {got}')
    for col in targets:
        if isinstance(col, bool) or not isinstance(col, int):
            raise DatasetError(
                f'{where}: "target_ind" holds {json.dumps(col)[:40]}, not an integer'
            )
        if not 0 <= col < n_labels:
            raise DatasetError(
                f'{where}: "target_ind" holds {col}, outside [0, {n_labels}) '
                f"(lbl.json.gz has {n_labels} labels)"
            )
    return targets


def _bow_files(source: Path) -> tuple[Path, Path] | None:
    """``train.txt`` / ``test.txt``, else the one ``NAME_train.txt`` / ``NAME_test.txt`` pair."""
    if (source / "train.txt").exists() or (source / "test.txt").exists():
        return source / "train.txt", source / "test.txt"
    pairs = [
        (p, p.with_name(p.name[: -len("train.txt")] + "test.txt"))
        for p in sorted(source.glob("*_train.txt"))
        if p.name not in FILTER_FILES.values()
    ]
    return pairs[0] if len(pairs) == 1 else None


def detect_layout(source: str | os.PathLike) -> str:
    """``"json"`` or ``"bow"``: which XC repository layout the folder ``source`` holds."""
    source = Path(source)
    if not source.is_dir():
        raise DatasetError(f"{source}: not a folder (give the unpacked XC repository dataset)")
    has_json = any((source / name).exists() for name in JSON_FILES.values())
    has_bow = _bow_files(source) is not None
    if has_json and has_bow:
        raise DatasetError(
            f"{source}: holds both trn.json.gz and train.txt; choose a layout (json or bow)"
        )
    if not (has_json or has_bow):
        raise DatasetError(
            f"{source}: no XC repository dataset found (expected trn.json.gz, tst.json.gz and "
            "lbl.json.gz, or train.txt and test.txt)"
        )
    return "json" if has_json else "bow"


def _filters(source: Path, shapes: dict[str, tuple[int, int]]) -> dict[str, np.ndarray]:
    return {
        f"{split}_filter": read_filter(source / fname, shapes[split])
        for split, fname in FILTER_FILES.items()
        if os.path.lexists(source / fname)
    }


def _read_json_layout(source: Path, content: str, progress: bool) -> dict[str, Any]:
    for fname in JSON_FILES.values():
        if not os.path.lexists(source / fname):
            raise DatasetError(f"{source / fname}: required file of the json layout not found")
    label_texts, label_meta, _ = read_json_records(
        source / JSON_FILES["lbl"], content=content, progress=progress
    )
    parts: dict[str, Any] = {"label_texts": label_texts, "label_meta": label_meta}
    for split in ("trn", "tst"):
        texts, meta, labels = read_json_records(
            source / JSON_FILES[split], len(label_texts), content, progress
        )
        parts.update({f"{split}_texts": texts, f"{split}_meta": meta, f"{split}_X_Y": labels})
    return parts


def _read_bow_layout(
    source: Path, texts: str | os.PathLike | None, progress: bool
) -> tuple[dict[str, Any], dict[str, sp.csr_matrix]]:
    found = _bow_files(source)
    trn_path, tst_path = found  # detect_layout or the caller made sure they exist
    if texts is None:
        raise DatasetError(
            f"{trn_path}: a bag-of-words dataset has no texts and every skim stage reads "
            "texts; give a folder of trn_X.txt, tst_X.txt and Y.txt (one text per row and "
            "per label) with --texts"
        )
    trn_feat, trn_lab = read_bow(trn_path, progress)
    tst_feat, tst_lab = read_bow(tst_path, progress)
    if tst_feat.shape[1] != trn_feat.shape[1] or tst_lab.shape[1] != trn_lab.shape[1]:
        raise DatasetError(
            f"{tst_path}, line 1: header says {tst_feat.shape[1]} features and "
            f"{tst_lab.shape[1]} labels but {trn_path.name} says {trn_feat.shape[1]} "
            f"and {trn_lab.shape[1]}"
        )
    parts: dict[str, Any] = {"trn_X_Y": trn_lab, "tst_X_Y": tst_lab}
    counts = {"trn": (trn_lab.shape[0], trn_path.name), "tst": (tst_lab.shape[0], tst_path.name),
              "lbl": (trn_lab.shape[1], "L in its header")}  # fmt: skip
    for split, fname in TEXT_FILES.items():
        records = read_texts(Path(texts) / fname)
        expected, what = counts[split]
        if len(records) != expected:
            raise DatasetError(
                f"{Path(texts) / fname}: {len(records)} lines but {what} has {expected}"
                if split != "lbl"
                else f"{Path(texts) / fname}: {len(records)} lines but {trn_path.name} has "
                f"{expected} labels (L in its header)"
            )
        parts["label_texts" if split == "lbl" else f"{split}_texts"] = records
    return parts, {"trn": trn_feat, "tst": tst_feat}


def read_xc_dataset(
    source: str | os.PathLike,
    layout: str = "auto",
    texts: str | os.PathLike | None = None,
    content: str = "meta",
    progress: bool = False,
) -> tuple[Dataset, dict[str, sp.csr_matrix]]:
    """Read an XC repository dataset folder: ``(dataset, features by split)``.

    ``layout`` is ``"bow"``, ``"json"`` or ``"auto"`` (:func:`detect_layout`); ``texts`` is
    the folder of texts a ``bow`` import needs; ``content`` is how ``json`` records' content is
    kept (``"meta"``, ``"text"`` or ``"drop"``). Features are empty for ``json``. The
    dataset is validated; ``info["imported"]`` records where it came from.
    """
    source = Path(source)
    if layout == "auto":
        layout = detect_layout(source)
    elif layout not in LAYOUTS:
        raise DatasetError(f"layout must be auto, bow or json, got {layout!r}")
    elif not source.is_dir():
        raise DatasetError(f"{source}: not a folder (give the unpacked XC repository dataset)")
    features: dict[str, sp.csr_matrix] = {}
    if layout == "json" and texts is not None:
        raise DatasetError(
            f"{source}: texts (--texts) are for the bow layout only; the json layout's "
            "records carry their own titles"
        )
    if layout == "json":
        parts = _read_json_layout(source, content, progress)
    else:
        if _bow_files(source) is None:
            raise DatasetError(f"{source / 'train.txt'}: required file of the bow layout not found")
        parts, features = _read_bow_layout(source, texts, progress)
    read = [source / name for name in JSON_FILES.values()] if layout == "json" else []
    read += list(_bow_files(source) or ()) if layout == "bow" else []
    read += [Path(texts) / name for name in TEXT_FILES.values()] if texts is not None else []
    warn_unread(source, read)
    n_labels = len(parts["label_texts"])
    shapes = {split: (parts[f"{split}_X_Y"].shape[0], n_labels) for split in ("trn", "tst")}
    parts.update(_filters(source, shapes))
    imported = {"layout": layout, "source": str(source)}
    if layout == "json":
        imported["content"] = content
    dataset = Dataset(**parts, info={"name": source.resolve().name, "imported": imported})
    dataset.validate()
    return dataset, features


def warn_unread(source: Path, read: list[Path]) -> list[str]:
    """Warn, in one line, of the XC repository files in ``source`` that the import does not
    read (the filter files are always read); return their names."""
    seen = {path.resolve() for path in read}
    unread = [name for name in KNOWN_FILES
              if (source / name).is_file() and (source / name).resolve() not in seen]  # fmt: skip
    if unread:
        here = [path.name for path in read if path.resolve().parent == source.resolve()]
        LOGGER.warning(
            "%s: %s not read (this import reads %s and the filter files)",
            source, ", ".join(unread), ", ".join(here),
        )  # fmt: skip
    return unread


def save_features(out_dir: str | os.PathLike, features: dict[str, sp.csr_matrix]) -> None:
    """Write the bag-of-words features beside a dataset (``trn_X_Xf.npz``, ``tst_X_Xf.npz``)."""
    for split, matrix in features.items():
        save_matrix(Path(out_dir) / FEATURE_FILES[split], matrix)


def import_xc_dataset(
    source: str | os.PathLike,
    out_dir: str | os.PathLike,
    layout: str = "auto",
    texts: str | os.PathLike | None = None,
    content: str = "meta",
    propensity: dict[str, float] | None = None,
    progress: bool = False,
) -> Dataset:
    """Read an XC repository dataset (:func:`read_xc_dataset`) and write it to ``out_dir``.

    The dataset directory is written whole (an interrupted import leaves no mix of files),
    then the features beside it; ``propensity`` (``{"A": .., "B": ..}``, the XC repository's
    per-dataset values, e.g. A 0.6, B 2.6 for Amazon) goes to ``dataset.json``.
    """
    from skim.data.output import check_dataset_dir_output, save_dataset_dir

    check_dataset_dir_output(out_dir)  # before the long read, not after it
    dataset, features = read_xc_dataset(source, layout, texts, content, progress)
    if propensity:
        dataset.info["propensity"] = dict(propensity)
    save_dataset_dir(dataset, out_dir)
    save_features(out_dir, features)
    return dataset.replace(path=Path(out_dir))
