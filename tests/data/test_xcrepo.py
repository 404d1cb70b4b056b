"""``skim datasets import``: the XC repository's BoW and LF-* JSON layouts -> DATASET.md."""

import gzip
import json
import re

import numpy as np
import pytest
import scipy.sparse as sp

from skim.cli import main
from skim.data import load_dataset, load_matrix, save_dataset, save_matrix
from skim.data.xcrepo import read_bow, read_json_records, read_xc_dataset
from skim.errors import DatasetError

# 3 train rows, 5 features, 4 labels: labels + features; no labels (a leading space);
# labels only, with a trailing comment
TRAIN = "3 5 4\n0,2 0:0.5 3:1.25\n 1:0.1 4:0.2\n3 # a comment\n"
# 2 test rows: a row whose first token is a feature (no labels); a blank line (an empty row)
TEST = "2 5 4\n2:0.75\n\n"


def _write_texts(folder, trn=("q0", "q1", "q2"), tst=("t0", "t1"), lbl=("a", "b", "c", "d")):
    folder.mkdir(exist_ok=True)
    for name, lines in (("trn_X.txt", trn), ("tst_X.txt", tst), ("Y.txt", lbl)):
        (folder / name).write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return folder


@pytest.fixture
def bow(tmp_path):
    src = tmp_path / "Bibtex"
    src.mkdir()
    (src / "train.txt").write_text(TRAIN)
    (src / "test.txt").write_text(TEST)
    (src / "filter_labels_test.txt").write_text("0 2\n")
    _write_texts(tmp_path / "texts")
    return src


def _gz_lines(path, records):
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for record in records:
            handle.write((record if isinstance(record, str) else json.dumps(record)) + "\n")


@pytest.fixture
def lf(tmp_path):
    src = tmp_path / "LF-Tiny-3"
    src.mkdir()
    _gz_lines(src / "lbl.json.gz", [
        {"uid": "L0", "title": "red apple", "content": "a fruit\nthat is red"},
        {"uid": "L1", "title": "pear", "content": ""},
        {"uid": "L2", "title": "plum\ttree"},
    ])  # fmt: skip
    _gz_lines(src / "trn.json.gz", [
        {"uid": "A", "title": "apples", "content": "", "target_ind": [0, 2],
         "target_rel": [1.0, 1.0]},
        "",  # a blank line is skipped
        {"uid": "B", "title": "pears", "content": "soft", "target_ind": []},
    ])  # fmt: skip
    _gz_lines(src / "tst.json.gz", [{"uid": "C", "title": "fruit", "target_ind": [1]}])
    (src / "filter_labels_train.txt").write_text("1 1\n")
    return src


def test_bow_import_exact_matrices_texts_features_and_filter(bow, tmp_path, capsys):
    out = tmp_path / "ds"
    code = main(["datasets", "import", str(bow), str(out), "--texts", str(tmp_path / "texts"),
                 "--quiet"])  # fmt: skip
    assert code == 0
    assert "train points: 3" in capsys.readouterr().out
    ds = load_dataset(out)
    np.testing.assert_array_equal(ds.trn_X_Y.toarray(), [[1, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 1]])
    np.testing.assert_array_equal(ds.tst_X_Y.toarray(), np.zeros((2, 4)))
    assert (ds.trn_texts, ds.tst_texts, ds.label_texts) == (["q0", "q1", "q2"], ["t0", "t1"],
                                                            ["a", "b", "c", "d"])  # fmt: skip
    assert ds.tst_filter.tolist() == [[0, 2]] and len(ds.trn_filter) == 0
    assert (out / "tst_filter_labels.txt").exists()
    trn_f = sp.load_npz(out / "trn_X_Xf.npz")
    np.testing.assert_allclose(
        trn_f.toarray(), [[0.5, 0, 0, 1.25, 0], [0, 0.1, 0, 0, 0.2], [0, 0, 0, 0, 0]]
    )
    np.testing.assert_allclose(sp.load_npz(out / "tst_X_Xf.npz").toarray(),
                               [[0, 0, 0.75, 0, 0], [0, 0, 0, 0, 0]])  # fmt: skip
    assert ds.info["imported"]["layout"] == "bow" and ds.info["name"] == "Bibtex"


def test_bow_reader_agrees_with_the_file_row_by_row(tmp_path):
    path = tmp_path / "data_train.txt"
    path.write_text("2 3 2\n1 2:0.5\n0,1\n")
    feats, labels = read_bow(path)
    assert feats.shape == (2, 3) and labels.shape == (2, 2)
    assert feats.toarray().tolist() == [[0, 0, 0.5], [0, 0, 0]]
    assert labels.toarray().tolist() == [[0, 1], [1, 1]]


def test_named_bow_pair_is_found(bow, tmp_path):
    (bow / "train.txt").rename(bow / "bibtex_train.txt")
    (bow / "test.txt").rename(bow / "bibtex_test.txt")
    ds, feats = read_xc_dataset(bow, texts=tmp_path / "texts")
    assert ds.trn_X_Y.nnz == 3 and feats["trn"].nnz == 4


def test_bow_without_texts_is_refused_with_one_sentence(bow, tmp_path, capsys):
    assert main(["datasets", "import", str(bow), str(tmp_path / "ds"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "train.txt: a bag-of-words dataset has no texts" in err and "--texts" in err
    assert "Traceback" not in err and not (tmp_path / "ds").exists()


def test_json_import_titles_contents_as_metadata_and_filters(lf, tmp_path, capsys):
    out = tmp_path / "ds"
    assert main(["datasets", "import", str(lf), str(out), "--quiet",
                 "--propensity-a", "0.6", "--propensity-b", "2.6"]) == 0  # fmt: skip
    ds = load_dataset(out)
    assert ds.label_texts == ["red apple", "pear", "plum\ttree"]
    assert ds.label_meta == ["a fruit\nthat is red", "", ""]
    assert ds.trn_texts == ["apples", "pears"] and ds.trn_meta == ["", "soft"]
    assert ds.tst_texts == ["fruit"] and ds.tst_meta is None  # no content at all: no file
    assert not (out / "tst_X.meta.txt").exists()
    np.testing.assert_array_equal(ds.trn_X_Y.toarray(), [[1, 0, 1], [0, 0, 0]])
    np.testing.assert_array_equal(ds.tst_X_Y.toarray(), [[0, 1, 0]])
    assert ds.trn_filter.tolist() == [[1, 1]] and len(ds.tst_filter) == 0
    assert (ds.propensity_a, ds.propensity_b) == (0.6, 2.6)
    assert not (out / "trn_X_Xf.npz").exists()
    # round trip through the project's own writer and loader
    save_dataset(ds, tmp_path / "again")
    again = load_dataset(tmp_path / "again")
    assert again.label_meta == ds.label_meta and again.trn_filter.tolist() == [[1, 1]]
    np.testing.assert_array_equal(again.trn_X_Y.toarray(), ds.trn_X_Y.toarray())
    # skim stats on the imported folder
    capsys.readouterr()
    assert main(["stats", str(out), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert (stats["train_points"], stats["test_points"], stats["labels"]) == (2, 1, 3)
    assert (stats["train_pairs"], stats["test_pairs"]) == (2, 1)


@pytest.mark.parametrize(
    ("content", "titles", "meta"),
    [("text", ["red apple a fruit\nthat is red", "pear", "plum\ttree"], None),
     ("drop", ["red apple", "pear", "plum\ttree"], None)],
)  # fmt: skip
def test_json_content_modes(lf, content, titles, meta):
    texts, got_meta, labels = read_json_records(lf / "lbl.json.gz", content=content)
    assert texts == titles and got_meta == meta and labels is None


def test_imported_test_filter_is_applied_by_evaluate(bow, tmp_path, capsys):
    (bow / "test.txt").write_text("2 5 4\n1 2:0.75\n3\n")
    out = tmp_path / "ds"
    assert main(["datasets", "import", str(bow), str(out), "--texts", str(tmp_path / "texts"),
                 "--quiet"]) == 0  # fmt: skip
    # row 0 ranks label 2 (the filtered pair) first, then its true label 1
    pred = sp.csr_matrix(np.array([[0, 0.5, 0.9, 0], [0, 0, 0, 0.8]], np.float32))
    save_matrix(tmp_path / "pred.npz", pred)
    assert main(["evaluate", str(out), str(tmp_path / "pred.npz"), "--k", "1",
                 "--json", str(tmp_path / "m.json")]) == 0  # fmt: skip
    assert json.loads((tmp_path / "m.json").read_text())["observed"]["P@1"] == 1.0


def test_xc_named_filter_in_a_dataset_folder_is_read_not_ignored(tmp_path, tiny_dataset, caplog):
    ds_dir = save_dataset(tiny_dataset, tmp_path / "ds")
    (ds_dir / "tst_filter_labels.txt").rename(ds_dir / "filter_labels_test.txt")
    assert load_dataset(ds_dir).tst_filter.tolist() == tiny_dataset.tst_filter.tolist()
    assert caplog.records == []
    (ds_dir / "tst_filter_labels.txt").write_text("0 0\n")
    assert load_dataset(ds_dir).tst_filter.tolist() == [[0, 0]]
    [warned] = caplog.records
    assert warned.levelname == "WARNING" and warned.getMessage() == (
        f"{ds_dir / 'filter_labels_test.txt'} is ignored; tst_filter_labels.txt is read instead"
    )


def test_progress_bar_names_the_file(lf, tmp_path, capsys):
    assert main(["datasets", "import", str(lf), str(tmp_path / "ds")]) == 0
    assert "import trn.json.gz" in capsys.readouterr().err


def test_quiet_top_level_flag_turns_the_progress_bar_off(lf, tmp_path, capsys):
    assert main(["-q", "datasets", "import", str(lf), str(tmp_path / "ds")]) == 0
    out, err = capsys.readouterr()
    assert "import trn.json.gz" not in err and "wrote" in out  # the result is still printed
    assert main(["-q", "datasets", "import", str(lf), str(tmp_path / "ds2"), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)  # the whole of stdout is one document
    assert printed["path"] == str(tmp_path / "ds2") and printed["stats"]["test_points"] == 1


def _import_error(src, tmp_path, capsys, *extra):
    assert main(["datasets", "import", str(src), str(tmp_path / "ds"), "--quiet", *extra]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    return err


@pytest.mark.parametrize(
    ("file", "text", "message"),
    [
        ("train.txt", "3 5\n", r"train.txt, line 1: header must be 'N F L'"),
        ("train.txt", "3 x 4\n", r"train.txt, line 1: feature count 'x' is not an integer"),
        ("train.txt", "2 5 4\n0 1:1\n1 2:1\n3 3:1\n", r"train.txt, line 4: header says 2 rows"),
        (
            "train.txt",
            "3 5 4\n0 1:1\n",
            r"train.txt, line 1: header says 3 rows but the file has 1",
        ),
        ("train.txt", "3 5 4\n0\n4 1:1\n1\n", r"train.txt, line 3: label 4 is outside \[0, 4\)"),
        ("test.txt", "2 5 4\n1 5:1\n\n", r"test.txt, line 2: feature 5 is outside \[0, 5\)"),
        ("test.txt", "2 5 4\n1 2:x\n\n", r"test.txt, line 2: feature value 'x' is not a finite"),
        ("test.txt", "2 5 4\n1 2\n\n", r"test.txt, line 2: feature '2' is not 'index:value'"),
        ("test.txt", "2 6 4\n\n\n", r"test.txt, line 1: header says 6 features and 4 labels"),
        ("filter_labels_test.txt", "0 9\n", r"filter_labels_test.txt, line 1: pair \(0, 9\)"),
    ],
)
def test_bow_errors_name_file_and_line(bow, tmp_path, capsys, file, text, message):
    (bow / file).write_text(text)
    err = _import_error(bow, tmp_path, capsys, "--texts", str(tmp_path / "texts"))
    assert re.search(message, err), err


def test_bow_text_count_mismatch(bow, tmp_path, capsys):
    _write_texts(tmp_path / "texts", lbl=("a", "b"))
    err = _import_error(bow, tmp_path, capsys, "--texts", str(tmp_path / "texts"))
    assert "Y.txt: 2 lines but train.txt has 4 labels" in err


@pytest.mark.parametrize(
    ("file", "records", "message"),
    [
        ("trn.json.gz", ['{"title": "x", "target_ind": [0]', "{}"],
         "trn.json.gz, line 1: not valid JSON (Expecting ',' delimiter"),
        ("trn.json.gz", [{"title": "x", "target_ind": [3]}],
         'trn.json.gz, line 1: "target_ind" holds 3, outside [0, 3)'),
        ("tst.json.gz", [{"title": "x", "target_ind": [0]}, {"title": "y"}],
         'tst.json.gz, line 2: "target_ind" must be a list of label indices, got nothing'),
        ("lbl.json.gz", [{"title": 5}], 'lbl.json.gz, line 1: "title" must be a string, got 5'),
        ("lbl.json.gz", ["[1, 2]"], "lbl.json.gz, line 1: expected a JSON object"),
    ],
)  # fmt: skip
def test_json_errors_name_file_and_line(lf, tmp_path, capsys, file, records, message):
    _gz_lines(lf / file, records)
    assert message in _import_error(lf, tmp_path, capsys)


def test_missing_and_broken_files(lf, tmp_path, capsys):
    (lf / "lbl.json.gz").write_bytes(gzip.compress(b'{"title": "a"}\n' * 50)[:-12])
    assert "lbl.json.gz: cannot be read after line" in _import_error(lf, tmp_path, capsys)
    (lf / "lbl.json.gz").write_bytes(b"plain text\n")
    assert "lbl.json.gz: cannot be read (Not a gzipped file" in _import_error(lf, tmp_path, capsys)
    (lf / "lbl.json.gz").unlink()
    assert "lbl.json.gz: required file of the json layout not found" in _import_error(
        lf, tmp_path, capsys
    )
    (tmp_path / "empty").mkdir()
    assert "no XC repository dataset found" in _import_error(tmp_path / "empty", tmp_path, capsys)
    err = _import_error(lf, tmp_path, capsys, "--texts", str(tmp_path))
    assert "texts (--texts) are for the bow layout only" in err
    err = _import_error(lf, tmp_path, capsys, "--layout", "bow")
    assert "train.txt: required file of the bow layout not found" in err


def test_import_never_replaces_a_folder_that_is_not_a_dataset(lf, tmp_path, capsys):
    _gz_lines(lf / "trn.json.gz", ["{broken"])  # said before any file is read
    assert main(["datasets", "import", str(lf), str(lf), "--quiet"]) == 2
    assert f"{lf}: exists and is not a dataset directory" in capsys.readouterr().err
    assert (lf / "trn.json.gz").exists() and not (lf / "trn_X.txt").exists()


def test_both_layouts_need_a_choice(lf, bow, tmp_path):
    (lf / "train.txt").write_text(TRAIN)
    with pytest.raises(DatasetError, match="holds both trn.json.gz and train.txt"):
        read_xc_dataset(lf)
    assert read_xc_dataset(lf, layout="json")[0].n_labels == 3


def test_imported_labels_load_like_any_matrix(lf, tmp_path):
    main(["datasets", "import", str(lf), str(tmp_path / "ds"), "--quiet"])
    assert load_matrix(tmp_path / "ds" / "trn_X_Y.npz").dtype == np.float32


def test_bow_reader_matches_the_field_s_reader_on_a_random_file(tmp_path):
    """The file pyxclib's write_data writes (header, then sklearn's multilabel svmlight dump,
    rows without labels included) reads back as the matrices it was written from."""
    svmlight = pytest.importorskip("sklearn.datasets")
    rng = np.random.default_rng(0)
    feats = sp.random(60, 40, density=0.2, format="csr", rng=rng, dtype=np.float64)
    feats.data = np.round(feats.data, 4)
    labels = sp.random(60, 9, density=0.25, format="csr", rng=rng)
    labels.data[:] = 1
    labels = sp.csr_matrix(labels.toarray() * (np.arange(60) % 5 != 0)[:, None])  # empty rows
    path = tmp_path / "train.txt"
    path.write_text("60 40 9\n")
    with open(path, "ab") as handle:
        svmlight.dump_svmlight_file(feats, labels, handle, multilabel=True, zero_based=True)
    got_feats, got_labels = read_bow(path)
    np.testing.assert_array_equal(got_feats.toarray(), feats.toarray().astype(np.float32))
    np.testing.assert_array_equal(got_labels.toarray(), labels.toarray())
    assert (np.diff(got_labels.indptr) == 0).sum() >= 12


def test_loading_a_download_says_to_import_it(lf, capsys):
    assert main(["stats", str(lf)]) == 2
    err = capsys.readouterr().err
    assert "trn.json.gz: an XC repository download, not the dataset layout" in err
    assert f"skim datasets import {lf} OUT" in err


def test_known_xc_files_the_import_does_not_read_are_named_in_one_warning(
    lf, bow, tmp_path, capsys
):
    for name in ("trn_X_Y.txt", "tst_X_Xf.txt", "Y.txt"):
        (lf / name).write_text("1 3\n0:1\n")
    assert main(["datasets", "import", str(lf), str(tmp_path / "a"), "-q"]) == 0
    assert capsys.readouterr().err == (
        f"skim: warning: {lf}: Y.txt, trn_X_Y.txt, tst_X_Xf.txt not read (this import reads "
        "trn.json.gz, tst.json.gz, lbl.json.gz and the filter files)\n"
    )
    _write_texts(bow)  # the texts beside train.txt: read, so not warned about
    assert main(["datasets", "import", str(bow), str(tmp_path / "b"), "--texts", str(bow),
                 "-q"]) == 0  # fmt: skip
    assert capsys.readouterr().err == ""
    assert main(["datasets", "import", str(bow), str(tmp_path / "c"), "--texts",
                 str(tmp_path / "texts"), "-q"]) == 0  # fmt: skip
    assert capsys.readouterr().err == (
        f"skim: warning: {bow}: trn_X.txt, tst_X.txt, Y.txt not read (this import reads "
        "train.txt, test.txt and the filter files)\n"
    )
