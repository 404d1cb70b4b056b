from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import skim.data.output as output
from skim.data import Dataset, load_dataset
from skim.data.output import save_dataset_dir


def _dataset(n_labels: int) -> Dataset:
    m = sp.csr_matrix(np.ones((1, n_labels), np.float32))
    return Dataset(["q"], ["t"], [f"l{j}" for j in range(n_labels)], m, m.copy())


def test_interrupted_write_keeps_the_previous_directory(tmp_path, monkeypatch):
    out = tmp_path / "ds"
    save_dataset_dir(_dataset(2), out, extra_files={"NOTE.txt": "v1"})

    def crash(dataset, path):
        (path / "trn_X.txt").write_text("partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(output, "save_dataset", crash)
    with pytest.raises(KeyboardInterrupt):
        save_dataset_dir(_dataset(3), out)
    assert load_dataset(out).n_labels == 2 and (out / "NOTE.txt").read_text() == "v1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]  # no temporary leftovers


def test_replacing_drops_files_of_the_old_build(tmp_path):
    out = tmp_path / "ds"
    save_dataset_dir(_dataset(2), out, extra_files={"NOTE.txt": "v1"})
    save_dataset_dir(_dataset(3), out)
    assert load_dataset(out).n_labels == 3 and not (out / "NOTE.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]
