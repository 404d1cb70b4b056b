import numpy as np
import pytest
import scipy.sparse as sp

from skim.data import canonical, load_matrix, resolve_matrix, save_matrix
from skim.errors import DatasetError

M = np.array([[1.0, 0, 0.25], [0, 0, 0], [0, 0.5, 1.0]], dtype=np.float32)


@pytest.mark.parametrize("suffix", [".npz", ".txt"])
def test_round_trip(tmp_path, suffix):
    save_matrix(tmp_path / f"m{suffix}", sp.csr_matrix(M))
    out = load_matrix(tmp_path / f"m{suffix}")
    assert isinstance(out, sp.csr_matrix) and out.dtype == np.float32
    np.testing.assert_allclose(out.toarray(), M)


def test_csr_array_coo_and_csc_are_accepted(tmp_path):
    for i, m in enumerate([sp.csr_array(M), sp.coo_matrix(M), sp.csc_matrix(M)]):
        sp.save_npz(tmp_path / f"m{i}.npz", m)
        np.testing.assert_allclose(load_matrix(tmp_path / f"m{i}.npz").toarray(), M)


def test_xc_text_format(tmp_path):
    (tmp_path / "m.txt").write_text("3 3\n0:1 2:0.25\n\n1:0.5 2:1\n")
    np.testing.assert_allclose(load_matrix(tmp_path / "m.txt").toarray(), M)


def test_duplicates_merge_by_max_and_indices_sorted():
    m = sp.coo_matrix(([0.2, 0.9, 0.4], ([0, 0, 0], [2, 2, 1])), shape=(1, 3))
    out = canonical(m)
    assert out.indices.tolist() == [1, 2]
    np.testing.assert_allclose(out.data, [0.4, 0.9])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("3\n", r"line 1: header must be 'rows cols'"),
        ("2 3\n0:1\n", "header says 2 rows but the file has 1"),
        ("1 3\n0-1\n", r"line 2: entry '0-1' is not 'col:val'"),
        ("1 3\nx:1\n", r"line 2: column 'x' is not an integer"),
        ("1 3\n0:abc\n", r"line 2: value 'abc' is not a number"),
        ("1 3\n5:1\n", "line 2: column index 5 outside"),
        ("1 3\n1:1.5\n", r"values must be in \[0, 1\]"),
        ("1 3\n1:nan\n", "not NaN"),
    ],
)
def test_malformed_text_matrix(tmp_path, content, message):
    (tmp_path / "m.txt").write_text(content)
    with pytest.raises(DatasetError, match=message):
        load_matrix(tmp_path / "m.txt")


def test_npz_value_out_of_range_names_row_and_column(tmp_path):
    sp.save_npz(tmp_path / "m.npz", sp.csr_matrix(np.array([[0, 0], [0, 2.0]])))
    with pytest.raises(DatasetError, match=r"m.npz: row 1, column 1 has value 2.0"):
        load_matrix(tmp_path / "m.npz")


def test_npz_nan_is_rejected(tmp_path):
    sp.save_npz(tmp_path / "m.npz", sp.csr_matrix(np.array([[np.nan, 1.0]])))
    with pytest.raises(DatasetError, match="not NaN"):
        load_matrix(tmp_path / "m.npz")


def test_npz_index_out_of_range(tmp_path):
    np.savez(
        tmp_path / "m.npz",
        format="csr",
        shape=np.array([1, 2]),
        data=np.array([1.0]),
        indices=np.array([7]),
        indptr=np.array([0, 1]),
    )
    with pytest.raises(DatasetError, match="column index 7 outside"):
        load_matrix(tmp_path / "m.npz")


def test_pickled_object_array_is_never_loaded(tmp_path):
    np.savez(
        tmp_path / "m.npz",
        format="csr",
        shape=np.array([1, 1]),
        data=np.array([object()], dtype=object),
        indices=np.array([0]),
        indptr=np.array([0, 1]),
    )
    with pytest.raises(DatasetError, match="pickled or object array"):
        load_matrix(tmp_path / "m.npz")


def test_not_a_sparse_npz(tmp_path):
    np.savez(tmp_path / "m.npz", x=np.arange(3))
    with pytest.raises(DatasetError, match="no 'format' entry"):
        load_matrix(tmp_path / "m.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DatasetError, match="junk.npz: not a valid"):
        load_matrix(tmp_path / "junk.npz")


def test_resolve_prefers_npz_then_text(tmp_path):
    assert resolve_matrix(tmp_path, "trn_X_Y") is None
    (tmp_path / "trn_X_Y.txt").write_text("0 0\n")
    assert resolve_matrix(tmp_path, "trn_X_Y").name == "trn_X_Y.txt"
    save_matrix(tmp_path / "trn_X_Y.npz", sp.csr_matrix((0, 0)))
    assert resolve_matrix(tmp_path, "trn_X_Y").name == "trn_X_Y.npz"


def test_coo_npz_duplicates_merge_by_max_not_sum(tmp_path):
    coo = sp.coo_matrix(([0.6, 0.7, 1.0], ([0, 0, 1], [1, 1, 0])), shape=(2, 2))
    sp.save_npz(tmp_path / "m.npz", coo, compressed=False)  # scipy would sum 0.6 + 0.7
    np.testing.assert_allclose(load_matrix(tmp_path / "m.npz").toarray(), [[0, 0.7], [1, 0]])


def test_csc_npz_is_read_column_major(tmp_path):
    sp.save_npz(tmp_path / "m.npz", sp.csc_matrix(M))
    np.testing.assert_allclose(load_matrix(tmp_path / "m.npz").toarray(), M)
    np.savez(
        tmp_path / "bad.npz", format="csc", shape=np.array([3, 2]), data=np.array([1.0]),
        indices=np.array([3]), indptr=np.array([0, 1, 1]),
    )  # fmt: skip
    with pytest.raises(DatasetError, match="bad.npz: column 0 has row index 3 outside"):
        load_matrix(tmp_path / "bad.npz")


def test_a_predictions_matrix_holds_any_finite_score(tmp_path):
    (tmp_path / "p.txt").write_text("2 3\n0:-3.5 2:7\n1:0.25\n")
    m = load_matrix(tmp_path / "p.txt", scores=True)
    np.testing.assert_array_equal(m.toarray(), [[-3.5, 0, 7], [0, 0.25, 0]])
    with pytest.raises(DatasetError, match=r"values must be in \[0, 1\]"):
        load_matrix(tmp_path / "p.txt")  # a label matrix still may not


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e39"])  # 1e39: infinite as float32
def test_a_score_that_is_not_finite_is_one_sentence(tmp_path, value):
    (tmp_path / "p.txt").write_text(f"1 3\n0:0.5 2:{value}\n")
    with pytest.raises(DatasetError, match=r"p.txt, line 2: column 2 has value .*; scores must"):
        load_matrix(tmp_path / "p.txt", scores=True)
