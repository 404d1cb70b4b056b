import json

import numpy as np
import pytest

from skim.data import as_dataset, load_dataset, save_dataset, save_matrix
from skim.errors import DatasetError


def test_round_trip_keeps_every_part(tmp_path, tiny_dataset):
    save_dataset(tiny_dataset, tmp_path / "ds")
    ds = load_dataset(tmp_path / "ds")
    assert ds.trn_texts == tiny_dataset.trn_texts
    assert ds.tst_texts == tiny_dataset.tst_texts
    assert ds.tst_meta == ["three nucleotides", ""]
    for name in ("trn_X_Y", "tst_X_Y", "trn_X_Y_unbiased", "tst_X_Y_unbiased"):
        np.testing.assert_array_equal(
            getattr(ds, name).toarray(), getattr(tiny_dataset, name).toarray()
        )
    assert ds.trn_filter.tolist() == [[2, 3]] and ds.tst_filter.tolist() == [[1, 2]]
    assert (ds.propensity_a, ds.propensity_b) == (0.5, 1.0)
    assert ds.n_trn == 3 and ds.n_tst == 2 and ds.n_labels == 4


def test_optional_parts_may_be_absent(tmp_path, tiny_dataset):
    bare = tiny_dataset.replace(
        trn_X_Y_unbiased=None,
        tst_X_Y_unbiased=None,
        trn_meta=None,
        tst_meta=None,
        label_meta=None,
        trn_filter=np.zeros((0, 2), int),
        tst_filter=np.zeros((0, 2), int),
        info={},
    )
    save_dataset(bare, tmp_path / "ds")
    ds = load_dataset(tmp_path / "ds")
    assert ds.trn_X_Y_unbiased is None and ds.label_meta is None and len(ds.tst_filter) == 0
    assert (ds.propensity_a, ds.propensity_b) == (0.55, 1.5)


def test_xc_text_matrix_is_accepted_in_place_of_npz(tmp_path, tiny_dataset):
    save_dataset(tiny_dataset, tmp_path / "ds")
    m = tiny_dataset.tst_X_Y
    (tmp_path / "ds" / "tst_X_Y.npz").unlink()
    save_matrix(tmp_path / "ds" / "tst_X_Y.txt", m)
    np.testing.assert_array_equal(load_dataset(tmp_path / "ds").tst_X_Y.toarray(), m.toarray())


@pytest.fixture
def saved(tmp_path, tiny_dataset):
    return save_dataset(tiny_dataset, tmp_path / "ds")


def test_missing_required_file(saved):
    (saved / "trn_X_Y.npz").unlink()
    with pytest.raises(DatasetError, match=r"trn_X_Y.npz: required file not found"):
        load_dataset(saved)
    with pytest.raises(DatasetError, match="not a dataset directory"):
        load_dataset(saved / "nope")


def test_missing_text_file(saved):
    (saved / "Y.txt").unlink()
    with pytest.raises(DatasetError, match=r"Y.txt: file not found"):
        load_dataset(saved)


def test_line_count_must_match_matrix_rows(saved):
    (saved / "trn_X.txt").write_text("only\ntwo\n")
    with pytest.raises(
        DatasetError, match=r"trn_X_Y.npz: shape 3 x 4 does not match trn_X.txt \(2 lines\)"
    ):
        load_dataset(saved)


def test_label_count_must_match_matrix_cols(saved):
    (saved / "Y.txt").write_text("a\nb\nc\n")
    with pytest.raises(DatasetError, match=r"Y.txt \(3 lines\)"):
        load_dataset(saved)


def test_metadata_line_count(saved):
    (saved / "Y.meta.txt").write_text("a\n")
    with pytest.raises(DatasetError, match=r"Y.meta.txt: 1 lines but Y.txt has 4"):
        load_dataset(saved)


def test_filter_out_of_range_names_line(saved):
    (saved / "tst_filter_labels.txt").write_text("0 1\n5 0\n")
    with pytest.raises(
        DatasetError, match=r"tst_filter_labels.txt, line 2: pair \(5, 0\) is outside"
    ):
        load_dataset(saved)
    (saved / "tst_filter_labels.txt").write_text("0 x\n")
    with pytest.raises(DatasetError, match="must be integers"):
        load_dataset(saved)


def test_bad_dataset_json(saved):
    (saved / "dataset.json").write_text("{not json")
    with pytest.raises(DatasetError, match=r"dataset.json: not valid JSON"):
        load_dataset(saved)
    (saved / "dataset.json").write_text(json.dumps({"propensity": {"A": "x"}}))
    with pytest.raises(DatasetError, match="propensity"):
        load_dataset(saved)


def test_non_utf8_text(saved):
    (saved / "tst_X.txt").write_bytes(b"ok\n\xc3\x28\n")
    with pytest.raises(DatasetError, match=r"tst_X.txt, line 2: not valid UTF-8"):
        load_dataset(saved)


@pytest.mark.parametrize("propensity", [{"A": float("nan")}, {"B": -5}, {"A": True}, {"a": 1}])
def test_bad_propensity_is_refused_before_anything_is_written(tmp_path, tiny_dataset, propensity):
    bad = tiny_dataset.replace(info={"propensity": propensity})
    with pytest.raises(DatasetError, match=r"dataset.json: .*propensity"):
        save_dataset(bad, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_as_dataset_takes_a_dataset_or_its_folder(tmp_path, tiny_dataset):
    assert as_dataset(tiny_dataset) is tiny_dataset
    save_dataset(tiny_dataset, tmp_path / "d")
    assert as_dataset(tmp_path / "d").trn_texts == tiny_dataset.trn_texts
    with pytest.raises(DatasetError):
        as_dataset(tmp_path / "missing")
