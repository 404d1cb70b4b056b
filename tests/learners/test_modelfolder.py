"""A saved model is swapped in whole: a failed rewrite leaves the model already there."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from skim.cli import main
from skim.errors import OutputError
from skim.learners import train
from skim.modelfolder import load_model, save_model


def _snapshot(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_full_disk_during_a_rewrite_keeps_the_old_model(tmp_path):
    model = tmp_path / "model"
    save_model(model, {"learner": "ova", "tag": "old"}, {"weight": torch.ones(4, 3)})
    before = _snapshot(model)
    script = textwrap.dedent(
        f"""
        import resource, signal, sys, torch
        from skim.errors import OutputError
        from skim.modelfolder import save_model
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        try:
            save_model({str(model)!r}, {{"learner": "ova", "tag": "new"}},
                       {{"weight": torch.ones(1000, 10)}})
        except OutputError as exc:
            print(exc)
            sys.exit(2)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert done.stdout.startswith(f"cannot write {model}: ") and "File too large" in done.stdout
    assert _snapshot(model) == before
    assert load_model(model)[0]["tag"] == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no temporary folder left


def test_skim_train_keeps_the_old_model_when_the_writer_fails(
    tmp_path, dataset_dir, fit_kwargs, monkeypatch, capsys
):
    import safetensors.torch

    model = tmp_path / "model"
    train(dataset_dir, model, **fit_kwargs)
    before = _snapshot(model)

    def full_disk(tensors, filename, metadata=None):
        with open(filename, "wb") as handle:
            handle.write(b"half a model")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(safetensors.torch, "save_file", full_disk)
    monkeypatch.setattr("skim.encode.SentenceEncoder", lambda *a, **k: fit_kwargs["encoder"])
    code = main(["train", str(dataset_dir), str(model), "--epochs", "1", "--seed", "3"])
    err = capsys.readouterr().err
    assert code == 2
    message = err.split("\r")[-1].lstrip()  # after the progress bar
    assert message == f"skim train: error: cannot write {model}: No space left on device\n"
    assert "Traceback" not in err
    assert _snapshot(model) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".model")) == []


def test_a_rewrite_replaces_every_file_of_the_model(tmp_path):
    model = tmp_path / "model"
    save_model(model, {"learner": "ova"}, {"weight": torch.ones(2, 2)})
    (model / "encoder").mkdir()  # left by a fine-tuned model written earlier
    save_model(model, {"learner": "ova"}, {"weight": torch.zeros(2, 2)})
    assert sorted(p.name for p in model.iterdir()) == ["model.safetensors", "skim_model.json"]
    np.testing.assert_array_equal(load_model(model)[1]["weight"].numpy(), np.zeros((2, 2)))


def test_a_folder_holding_other_files_is_not_overwritten(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "paper.pdf").write_bytes(b"%PDF")
    with pytest.raises(OutputError, match="holds 'paper.pdf'"):
        save_model(folder, {"learner": "ova"}, {"weight": torch.ones(1)})
    assert sorted(p.name for p in folder.iterdir()) == ["paper.pdf"]
