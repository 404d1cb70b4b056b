import json

import numpy as np

from skim.cli import main
from skim.data import load_matrix, save_matrix


def test_train_then_predict_from_the_command_line(tmp_path, dataset_dir, capsys):
    # the default encoder would be loaded from disk; the bag-of-words stand-in keeps it fast
    import skim.encode as features
    from tests.learners.conftest import FakeEncoder

    class NamedFake(FakeEncoder):
        name = "all-MiniLM-L6-v2"

    original = features.SentenceEncoder
    devices = []  # what each loaded encoder was asked to run on

    def fake(*args, **kwargs):
        devices.append(kwargs.get("device"))
        return NamedFake()

    features.SentenceEncoder = fake
    try:
        model = tmp_path / "model"
        train = ["train", str(dataset_dir), str(model), "--learner", "dual", "--epochs", "2"]
        assert main([*train, "--device", "cpu"]) == 0
        assert devices == ["cpu"]  # --device reaches the encoder, not only the learner
        assert "model written to" in capsys.readouterr().out
        out = tmp_path / "pred.npz"
        predict = ["predict", str(dataset_dir), str(model), str(out), "--k", "5"]
        assert main([*predict, "--device", "cpu"]) == 0
        assert devices == ["cpu", "cpu"]
        assert capsys.readouterr().out == f"20 x 10 predictions (5 per row) -> {out}\n"
        assert main(["predict", str(dataset_dir), str(model), str(out), "--k", "3", "--json"]) == 0
        printed = json.loads(capsys.readouterr().out)  # the whole of stdout is one document
        assert printed == {"out": str(out), "rows": 20, "labels": 10, "k": 3}
        again = tmp_path / "again"
        assert main(["train", str(dataset_dir), str(again), "--epochs", "1", "--json"]) == 0
        assert json.loads(capsys.readouterr().out) == {"model_dir": str(again)}
    finally:
        features.SentenceEncoder = original
    pred = load_matrix(out)
    assert pred.shape == (20, 10) and (np.diff(pred.indptr) == 3).all()


def test_user_errors_exit_2_with_one_sentence(tmp_path, dataset_dir, capsys):
    bad = tmp_path / "bad.npz"
    save_matrix(bad, np.zeros((3, 10), np.float32))
    assert main(["train", str(dataset_dir), str(tmp_path / "m"), "--labels", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.npz: shape 3 x 10 does not match" in err and "Traceback" not in err
    assert main(["predict", str(dataset_dir), str(tmp_path / "none"), str(tmp_path / "p.npz")]) == 2
    assert "model directory not found" in capsys.readouterr().err
