"""The malformed-input corpus (issue 12): each bad file or setting is one sentence and exit 2.

Every case writes one malformed input into a fresh copy of the tiny dataset of
``tests/conftest.py`` (folder ``data``, synthetic texts ``synthetic.jsonl``, empty folder
``out``) and returns the ``skim`` command line that reads it. The test runs the real CLI entry
and checks: exit status 2, one line ``skim CMD: error: ...`` naming the file (and the line or
key where there is one), no traceback, no output and no partial or temporary file left behind.

To add a case, append a :class:`Case` to ``CASES``: ``make(root)`` writes the bad input below
``root`` and returns the argv; ``expect`` lists substrings the error line must hold.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from skim.cli import main
from skim.data import load_matrix, save_dataset, save_matrix
from tests.conftest import HashEncoder

SYNTHETIC = [{"source": 0, "texts": ["an exon", "a coding part"]}, {"source": 2, "texts": ["dna"]}]


@dataclass(frozen=True)
class Case:
    """One malformed input: ``make(root) -> argv`` writes it; the error line holds ``expect``."""

    id: str
    make: Callable[[Path], list[str]]
    expect: tuple[str, ...]


def map_argv(root: Path, *extra: str) -> list[str]:
    """``skim map`` of ``root/synthetic.jsonl`` onto ``root/data``, writing ``root/out/new.npz``."""
    return [
        "map", str(root / "data"), str(root / "synthetic.jsonl"), str(root / "out" / "new.npz"),
        "--direction", "queries-to-labels", "--tau", "0.5",
        "--cache-dir", str(root / "cache"), *extra,
    ]  # fmt: skip


def evaluate_argv(root: Path, predictions: str) -> list[str]:
    """``skim evaluate`` of ``root/predictions``, writing ``root/out/metrics.json``."""
    out = root / "out" / "metrics.json"
    return ["evaluate", str(root / "data"), str(root / predictions), "--json", str(out)]


def _write(path: Path, content: str | bytes) -> None:
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)


def file_case(
    id: str, name: str, content: str | bytes, expect: tuple[str, ...], argv=map_argv
) -> Case:
    """``name`` (relative to the root) holds ``content``; then ``argv(root)`` reads it."""

    def make(root: Path) -> list[str]:
        path = root / name
        if path.suffix == ".txt" and path.stem in ("trn_X_Y", "tst_X_Y"):
            path.with_suffix(".npz").unlink()  # so that the text matrix is the one read
        _write(path, content)
        return argv(root)

    return Case(id, make, expect)


CSR = {"format": "csr", "shape": [3, 4], "data": [1.0, 1.0, 0.5], "indices": [0, 1, 2]}
CSR["indptr"] = [0, 1, 2, 3]  # trn_X_Y of the tiny dataset


def npz_case(id: str, expect: tuple[str, ...], name: str = "data/trn_X_Y.npz", **arrays) -> Case:
    """An .npz holding the tiny ``trn_X_Y`` arrays with some replaced (None = left out)."""

    def make(root: Path) -> list[str]:
        parts = {**CSR, **arrays}
        parts = {k: np.asarray(v) for k, v in parts.items() if v is not None}
        with open(root / name, "wb") as handle:
            np.savez(handle, **parts)
        if name.startswith("data/"):
            return map_argv(root)
        return map_argv(root, "--observed", str(root / name))

    return Case(id, make, expect)


def link_loop(root: Path, name: str) -> None:
    """Make ``name`` one end of a two-link symbolic loop."""
    path = root / name
    path.unlink(missing_ok=True)
    os.symlink(path.name + ".loop", path)
    os.symlink(path.name, path.with_name(path.name + ".loop"))


def loop_case(id: str, name: str, argv=map_argv) -> Case:
    def make(root: Path) -> list[str]:
        link_loop(root, name)
        return argv(root)

    return Case(id, make, (Path(name).name, "symbolic link"))


def dir_case(id: str, name: str, argv=map_argv) -> Case:
    def make(root: Path) -> list[str]:
        path = root / name
        path.unlink(missing_ok=True)
        path.mkdir()
        return argv(root)

    return Case(id, make, (Path(name).name, "directory"))


def _zip_with_text(root: Path) -> list[str]:
    with zipfile.ZipFile(root / "data" / "trn_X_Y.npz", "w") as archive:
        archive.writestr("readme.txt", "not an array")
    return map_argv(root)


def _truncated_npz(root: Path) -> list[str]:
    path = root / "data" / "trn_X_Y.npz"
    path.write_bytes(path.read_bytes()[:60])
    return map_argv(root)


def _known_rows(name: str, content: str | bytes) -> Callable[[Path], list[str]]:
    def make(root: Path) -> list[str]:
        _write(root / name, content)
        return map_argv(root, "--known-rows", str(root / name))

    return make


def _rows_argv(root: Path) -> list[str]:
    return map_argv(root, "--known-rows", str(root / "rows.txt"))


def _run_argv(root: Path) -> list[str]:
    return ["run", str(root / "config.toml"), "--out", str(root / "out" / "run")]


def _info(propensity) -> str:
    return json.dumps({"name": "tiny", "propensity": propensity}, allow_nan=True)


JSONL = "synthetic.jsonl"
JSONL_LINE2 = ("synthetic.jsonl, line 2",)
XC_HEADER = ("trn_X_Y.txt, line 1",)
TRN_FILTER, TST_FILTER = "data/trn_filter_labels.txt", "data/tst_filter_labels.txt"
XC = "data/trn_X_Y.txt"
INFO = "data/dataset.json"
NPZ = ("trn_X_Y.npz",)

CASES: list[Case] = [
    # .npz label matrices: every array checked, nothing unpickled
    npz_case("npz-indptr-decreasing", (*NPZ, "indptr"), indptr=[0, 2, 1, 3]),
    npz_case("npz-indptr-not-from-0", (*NPZ, "indptr"), indptr=[1, 1, 2, 3]),
    npz_case("npz-indptr-short", (*NPZ, "indptr"), indptr=[0, 1, 3]),
    npz_case("npz-indptr-past-end", (*NPZ, "indptr"), indptr=[0, 1, 2, 4]),
    npz_case("npz-indptr-float", (*NPZ, "indptr"), indptr=[0.0, 1.5, 2.0, 3.0]),
    npz_case("npz-indices-float", (*NPZ, "indices"), indices=[0.2, 1.7, 2.9]),
    npz_case("npz-indices-negative", (*NPZ, "column index -1"), indices=[0, -1, 2]),
    npz_case("npz-indices-too-large", (*NPZ, "column index 4"), indices=[0, 4, 2]),
    npz_case("npz-indices-string", (*NPZ, "indices"), indices=["0", "1", "2"]),
    npz_case("npz-indices-2d", (*NPZ, "indices"), indices=[[0, 1, 2]]),
    npz_case("npz-indices-missing", (*NPZ, "indices"), indices=None),
    npz_case("npz-data-string", (*NPZ, "data"), data=["a", "b", "c"]),
    npz_case("npz-data-bytes", (*NPZ, "data"), data=[b"a", b"b", b"c"]),
    npz_case("npz-data-complex", (*NPZ, "data"), data=[1 + 1j, 1, 0.5]),
    npz_case("npz-data-nan", (*NPZ, "NaN"), data=[1.0, np.nan, 0.5]),
    npz_case("npz-data-inf", (*NPZ, "row 0"), data=[np.inf, 1.0, 0.5]),
    npz_case("npz-data-above-1", (*NPZ, "row 2"), data=[1.0, 1.0, 2.0]),
    npz_case("npz-data-negative", (*NPZ, "row 1"), data=[1.0, -0.5, 0.5]),
    npz_case("npz-data-too-short", (*NPZ, "data"), data=[1.0, 1.0]),
    npz_case("npz-data-object", (*NPZ, "pickled"), data=np.array([1, "x", None], dtype=object)),
    npz_case("npz-indices-uint64", (*NPZ, "column index"), indices=np.uint64([0, 2**64 - 1, 2])),
    npz_case(
        "npz-csc-indptr-decreasing", (*NPZ, "'indptr' must never decrease"),
        format="csc", indptr=[0, 1, 3, 2, 3], indices=[0, 1, 2],
    ),  # fmt: skip
    npz_case("npz-shape-3d", (*NPZ, "shape"), shape=[3, 4, 1]),
    npz_case("npz-shape-negative", (*NPZ, "shape"), shape=[-3, 4]),
    npz_case("npz-shape-float", (*NPZ, "shape"), shape=[3.5, 4.0]),
    npz_case("npz-shape-string", (*NPZ, "shape"), shape=["3", "4"]),
    npz_case("npz-shape-mismatch", (*NPZ, "shape 3 x 5"), shape=[3, 5]),
    npz_case("npz-format-unknown", (*NPZ, "'dia'"), format="dia"),
    npz_case("npz-format-number", (*NPZ, "format"), format=5),
    npz_case("npz-format-missing", (*NPZ, "format"), format=None),
    npz_case(
        "npz-coo-float-row",
        (*NPZ, "row"),
        format="coo", row=[0.5, 1, 2], col=[0, 1, 2], indices=None, indptr=None,
    ),  # fmt: skip
    npz_case(
        "npz-coo-row-out-of-range",
        (*NPZ, "row"),
        format="coo", row=[0, 1, 7], col=[0, 1, 2], indices=None, indptr=None,
    ),  # fmt: skip
    npz_case(
        "npz-observed-indptr-decreasing",
        ("bad_observed.npz", "indptr"),
        name="bad_observed.npz",
        indptr=[0, 3, 2, 3],
    ),
    file_case("npz-not-a-zip", "data/trn_X_Y.npz", b"PK\x03\x04 garbage", (*NPZ, "zip")),
    file_case("npz-empty-file", "data/trn_X_Y.npz", b"", (*NPZ, "zip")),
    Case("npz-zip-without-arrays", _zip_with_text, (*NPZ, "format")),
    Case("npz-truncated", _truncated_npz, NPZ),
    dir_case("npz-is-a-directory", "data/trn_X_Y.npz"),
    loop_case("npz-symlink-loop", "data/tst_X_Y.npz"),
    file_case(
        "xc-predictions-nan",
        "pred.txt",
        "2 4\n0:nan\n1:0.5\n",
        ("pred.txt, line 2", "NaN"),
        lambda root: evaluate_argv(root, "pred.txt"),
    ),
    # XC sparse text matrices
    file_case("xc-header-negative", XC, "-3 4\n0:1\n1:1\n2:0.5\n", XC_HEADER),
    file_case("xc-header-overflow", XC, "99999999999999999999999 4\n", XC_HEADER),
    file_case("xc-cols-overflow", XC, "3 99999999999999999999999\n\n\n\n", XC_HEADER),
    file_case("xc-header-one-field", XC, "3\n0:1\n1:1\n2:0.5\n", XC_HEADER),
    file_case("xc-header-three-fields", XC, "3 4 5\n0:1\n1:1\n2:1\n", XC_HEADER),
    file_case("xc-header-not-integer", XC, "3 four\n0:1\n1:1\n2:1\n", XC_HEADER),
    file_case("xc-header-float", XC, "3.0 4\n0:1\n1:1\n2:1\n", XC_HEADER),
    file_case("xc-empty-file", XC, "", XC_HEADER),
    file_case("xc-too-few-rows", XC, "5 4\n0:1\n1:1\n2:1\n", ("trn_X_Y.txt", "5 rows")),
    file_case("xc-entry-no-colon", XC, "3 4\n0:1\n1 1\n2:1\n", ("trn_X_Y.txt, line 3",)),
    file_case("xc-col-not-integer", XC, "3 4\n0:1\n1:1\nx:1\n", ("trn_X_Y.txt, line 4",)),
    file_case("xc-col-float", XC, "3 4\n0.0:1\n1:1\n2:1\n", ("trn_X_Y.txt, line 2",)),
    file_case("xc-value-not-number", XC, "3 4\n0:1\n1:yes\n2:1\n", ("trn_X_Y.txt, line 3",)),
    file_case("xc-value-nan", XC, "3 4\n0:1\n1:1\n2:nan\n", ("trn_X_Y.txt, line 4",)),
    file_case("xc-value-inf", XC, "3 4\n0:inf\n1:1\n2:1\n", ("trn_X_Y.txt, line 2",)),
    file_case("xc-col-out-of-range", XC, "3 4\n0:1\n9:1\n2:1\n", ("trn_X_Y.txt, line 3",)),
    file_case("xc-col-negative", XC, "3 4\n0:1\n1:1\n-2:1\n", ("trn_X_Y.txt, line 4",)),
    file_case("xc-not-utf8", XC, b"3 4\n0:1\n1:1\xff\n2:1\n", ("trn_X_Y.txt, line 3", "UTF-8")),
    file_case("xc-col-underscore", XC, "3 4\n0_1:1\n1:1\n2:1\n", ("trn_X_Y.txt, line 2", "'0_1'")),
    # dataset.json settings
    file_case("info-a-nan", INFO, _info({"A": float("nan"), "B": 1.5}), ("dataset.json", "A")),
    file_case("info-a-infinite", INFO, '{"propensity": {"A": 1e999}}', ("dataset.json", "A")),
    file_case("info-a-bool", INFO, _info({"A": True, "B": 1.5}), ("dataset.json", "A")),
    file_case("info-a-string", INFO, _info({"A": "0.55"}), ("dataset.json", "A")),
    file_case("info-a-null", INFO, _info({"A": None}), ("dataset.json", "A")),
    file_case("info-a-negative", INFO, _info({"A": -0.5}), ("dataset.json", "A")),
    file_case("info-b-negative", INFO, _info({"A": 0.55, "B": -5}), ("dataset.json", "B")),
    file_case("info-b-zero", INFO, _info({"B": 0}), ("dataset.json", "B")),
    file_case("info-b-list", INFO, _info({"B": [1.5]}), ("dataset.json", "B")),
    file_case("info-propensity-list", INFO, _info([0.55, 1.5]), ("dataset.json", "propensity")),
    file_case("info-propensity-key", INFO, _info({"a": 0.55}), ("dataset.json", "'a'")),
    file_case("info-not-an-object", INFO, "[1, 2]", ("dataset.json", "object")),
    file_case("info-not-json", INFO, "{name: tiny}", ("dataset.json", "JSON")),
    file_case("info-nested-deeply", INFO, "[" * 100_000, ("dataset.json", "nested")),
    file_case("info-a-huge", INFO, '{"propensity": {"A": 1%s}}' % ("0" * 400), ("propensity.A",)),
    file_case("info-simulation-list", INFO, '{"simulation": []}', ("dataset.json", "simulation")),
    file_case("info-not-utf8", INFO, b'{"name": "\xff"}', ("dataset.json", "UTF-8")),
    dir_case("info-is-a-directory", INFO),
    loop_case("info-symlink-loop", INFO),
    # dataset text files
    dir_case("text-is-a-directory", "data/trn_X.txt"),
    loop_case("text-symlink-loop", "data/Y.txt"),
    file_case("text-not-utf8", "data/tst_X.txt", b"codon\n\xc3\x28\n", ("tst_X.txt, line 2",)),
    file_case("text-too-few-lines", "data/trn_X.txt", "exon\ngene\n", ("trn_X_Y.npz", "2 lines")),
    dir_case("meta-is-a-directory", "data/trn_X.meta.txt"),
    loop_case("meta-symlink-loop", "data/Y.meta.txt"),
    file_case("meta-too-many-lines", "data/Y.meta.txt", "a\nb\nc\nd\ne\n", ("Y.meta.txt", "5")),
    dir_case("filter-is-a-directory", "data/trn_filter_labels.txt"),
    file_case("filter-out-of-range", TST_FILTER, "1 9\n", ("tst_filter_labels.txt, line 1",)),
    file_case("filter-not-integer", TRN_FILTER, "0 0\n1 x\n", ("trn_filter_labels.txt, line 2",)),
    file_case("filter-not-utf8", TRN_FILTER, b"\xff 1\n", ("filter_labels.txt, line 1", "UTF-8")),
    # SYNTHETIC.jsonl of skim map
    file_case("jsonl-not-json", JSONL, '{"source": 0, "texts": ["a"]}\n{oops\n', JSONL_LINE2),
    file_case("jsonl-not-utf8", JSONL, b'{"source": 0, "texts": ["\xff"]}\n', ("line 1", "UTF-8")),
    file_case("jsonl-list", JSONL, "\n[0, 1]\n", JSONL_LINE2),
    file_case("jsonl-nested-deeply", JSONL, "[" * 100_000 + "\n", ("line 1", "nested")),
    file_case("jsonl-source-string", JSONL, '{"source": "0", "texts": []}\n', ("line 1", "source")),
    file_case("jsonl-source-bool", JSONL, '{"source": true, "texts": []}\n', ("line 1", "source")),
    file_case("jsonl-source-float", JSONL, '{"source": 1.0, "texts": []}\n', ("line 1", "source")),
    file_case("jsonl-source-negative", JSONL, '{"source": -1, "texts": []}\n', ("line 1", "-1")),
    file_case("jsonl-source-huge", JSONL, '{"source": 1e400, "texts": []}\n', ("line 1", "source")),
    file_case("jsonl-texts-string", JSONL, '{"source": 0, "texts": "a"}\n', ("line 1", "texts")),
    file_case("jsonl-texts-numbers", JSONL, '{"source": 0, "texts": [1]}\n', ("line 1", "texts")),
    file_case("jsonl-texts-missing", JSONL, '{"source": 0}\n', ("line 1", "texts")),
    dir_case("jsonl-is-a-directory", JSONL),
    loop_case("jsonl-symlink-loop", JSONL),
    # --known-rows of skim map
    Case("rows-not-utf8", _known_rows("rows.txt", b"0 1\n\xff\n"), ("rows.txt", "UTF-8")),
    Case("rows-not-integer", _known_rows("rows.txt", "0 1.5\n"), ("rows.txt", "1.5")),
    Case("rows-out-of-range", _known_rows("rows.txt", "0, 3\n"), ("rows.txt", "row 3")),
    Case("rows-negative", _known_rows("rows.txt", "-1\n"), ("rows.txt", "row -1")),
    Case("rows-json-invalid", _known_rows("rows.json", "[0, 1"), ("rows.json", "JSON")),
    Case("rows-json-floats", _known_rows("rows.json", "[0.0, 1.0]"), ("rows.json", "integers")),
    Case("rows-json-bools", _known_rows("rows.json", '{"rows": [true]}'), ("rows.json",)),
    Case("rows-json-not-utf8", _known_rows("rows.json", b"[\xff]"), ("rows.json", "UTF-8")),
    Case("rows-underscore", _known_rows("rows.txt", "0\n0_1\n"), ("rows.txt, line 2", "'0_1'")),
    Case("rows-huge", _known_rows("rows.txt", "9" * 30), ("rows.txt", "out of range")),
    Case("rows-json-huge", _known_rows("rows.json", f"[{'9' * 30}]"), ("rows.json", "range")),
    Case("rows-json-nested", _known_rows("rows.json", "[" * 100_000), ("rows.json", "nested")),
    dir_case("rows-is-a-directory", "rows.txt", _rows_argv),
    loop_case("rows-symlink-loop", "rows.txt", _rows_argv),
    # the TOML config of skim run
    dir_case("config-is-a-directory", "config.toml", _run_argv),
    loop_case("config-symlink-loop", "config.toml", _run_argv),
    file_case(
        "config-not-utf8", "config.toml", b'[run]\nout = "\xff"\n', ("config.toml, line 2",),
        _run_argv,
    ),
]  # fmt: skip


@pytest.fixture
def root(tmp_path, tiny_dataset, monkeypatch) -> Path:
    """A tiny valid dataset, synthetic texts and an empty output folder; a hash encoder."""
    monkeypatch.setattr("skim.encode.load_text_encoder", lambda spec, **kw: HashEncoder())
    save_dataset(tiny_dataset, tmp_path / "data")
    (tmp_path / "synthetic.jsonl").write_text("".join(json.dumps(r) + "\n" for r in SYNTHETIC))
    (tmp_path / "out").mkdir()
    return tmp_path


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_malformed_input_is_one_sentence_and_exit_2(case, root, capsys):
    argv = case.make(root)
    capsys.readouterr()
    before = _tree(root)
    status = main(argv)
    out, err = capsys.readouterr()
    line = err.strip()
    assert status == 2, (status, err)
    assert line.startswith(f"skim {argv[0]}: error: ") and "\n" not in line, err
    assert all(s in line for s in case.expect), (case.expect, line)
    assert "Traceback" not in err and out == ""
    assert _tree(root) == before  # no output, partial output or temporary file


def test_the_corpus_is_large_and_its_ids_unique():
    assert len(CASES) >= 40 and len({c.id for c in CASES}) == len(CASES)


# valid edge cases that must keep working


def test_empty_synthetic_file_maps_to_the_observed_labels(root, capsys):
    (root / "synthetic.jsonl").write_bytes(b"")
    assert main(map_argv(root)) == 0
    assert "0 new pairs" in capsys.readouterr().out
    got = load_matrix(root / "out" / "new.npz")
    assert (got != load_matrix(root / "data" / "trn_X_Y.npz")).nnz == 0


def test_duplicate_entries_are_merged_by_max(root, capsys):
    coo = sp.coo_matrix(([0.2, 0.9, 0.4, 1.0], ([0, 0, 0, 2], [2, 2, 1, 3])), shape=(3, 4))
    sp.save_npz(root / "data" / "trn_X_Y.npz", coo, compressed=False)
    _write(root / "data" / "tst_X_Y.txt", "2 4\n1:0.3 1:0.8 0:1\n\n")
    (root / "data" / "tst_X_Y.npz").unlink()
    assert main(["stats", str(root / "data"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["train_pairs"] == 3
    np.testing.assert_allclose(
        load_matrix(root / "data" / "trn_X_Y.npz").toarray(),
        [[0, 0.4, 0.9, 0], [0, 0, 0, 0], [0, 0, 0, 1]],
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        load_matrix(root / "data" / "tst_X_Y.txt").toarray(), [[1, 0.8, 0, 0], [0, 0, 0, 0]]
    )


def test_valid_unusual_files_are_accepted(root):
    """Uint32 and int32 arrays, a zero-pair matrix, an empty text row and integral A and B."""
    parts = {k: np.asarray(v) for k, v in CSR.items()}
    parts["indices"] = parts["indices"].astype(np.uint32)
    parts["indptr"] = parts["indptr"].astype(np.int32)
    with open(root / "data" / "trn_X_Y.npz", "wb") as handle:
        np.savez(handle, **parts)
    save_matrix(root / "data" / "tst_X_Y.npz", sp.csr_matrix((2, 4), dtype=np.float32))
    _write(root / "data" / "dataset.json", '{"propensity": {"A": 1, "B": 2}}')
    assert main(map_argv(root)) == 0
    assert load_matrix(root / "out" / "new.npz").shape == (3, 4)
