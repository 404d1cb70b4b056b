from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from skim.errors import SkimError
from skim.map.tau import choose_tau, format_table, read_rows, resolve_known


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("rows.txt", "2\n0 2, 1\n"),
        ("rows.json", "[2, 0, 1]"),
        ("rows.json", '{"seed_rows": [0, 1, 2], "fraction": 0.02}'),
    ],
)
def test_read_rows_formats(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    assert read_rows(path, 3).tolist() == [0, 1, 2]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("rows.txt", "0 3", r"row 3 is out of range \[0, 3\)"),
        ("rows.txt", "0 x", "rows.txt, line 1: row index 'x' is not an integer"),
        ("rows.json", '{"rows": [0.5]}', "expected a list of row indices"),
        ("rows.json", "[0,", "not valid JSON"),
    ],
)
def test_read_rows_errors_name_the_file(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(SkimError, match=message) as info:
        read_rows(path, 3)
    assert name in str(info.value)


def test_resolve_known_defaults(dataset):
    known = resolve_known(dataset)
    assert known.origin == "trn_X_Y_unbiased" and known.rows.tolist() == [0, 1, 2]
    assert resolve_known(dataset.replace(trn_X_Y_unbiased=None)) is None
    with pytest.raises(SkimError, match="known rows were given but no complete labels"):
        resolve_known(dataset.replace(trn_X_Y_unbiased=None), known_rows=[0])
    seed = dataset.trn_X_Y.toarray()
    seed[2, 0] = 1
    assert resolve_known(dataset, known=sp.csr_matrix(seed)).rows.tolist() == [2]
    explicit = resolve_known(dataset, known=sp.csr_matrix(seed), known_rows=[1, 2])
    assert explicit.rows.tolist() == [1, 2]
    with pytest.raises(SkimError, match="known labels .* 2 x 4"):
        resolve_known(dataset, known=sp.csr_matrix(np.zeros((2, 4), np.float32)))


def test_choose_tau_and_format():
    table = [
        {"tau": 0.5, "pairs_kept": 9, "new_pairs": 8, "precision": 0.2, "recovered": 0.9,
         "known_new_pairs": 40},
        {"tau": 0.7, "pairs_kept": 5, "new_pairs": 4, "precision": 0.55, "recovered": 0.5,
         "known_new_pairs": 20},
        {"tau": 0.9, "pairs_kept": 2, "new_pairs": 1, "precision": 0.8, "recovered": 0.1,
         "known_new_pairs": 12},
    ]  # fmt: skip
    assert choose_tau(table, 0.5)["tau"] == 0.7
    assert choose_tau(table, 0.6)["tau"] == 0.9
    with pytest.raises(SkimError, match="best 0.550 at tau 0.7"):
        choose_tau(table, 0.6, min_known_pairs=15)
    text = format_table(table).splitlines()
    assert text[0].split() == ["tau", "pairs_kept", "new_pairs", "precision", "recovered"]
    assert text[2].split() == ["0.7", "5", "4", "0.5500", "0.5000"]
