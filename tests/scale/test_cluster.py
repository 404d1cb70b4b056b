"""The one switch: ``--ray [ADDRESS]`` and ``[ray]``; without it nothing imports Ray."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from skim.cli import main
from skim.data import save_dataset
from skim.errors import SkimError
from skim.pipeline.config import check_config

from ..conftest import ROOT
from ..distill.helpers import toy_dataset


def test_generate_map_simulate_and_train_without_the_switch_never_import_ray(tmp_path):
    save_dataset(toy_dataset(), tmp_path / "ds")
    script = textwrap.dedent(f"""
        import sys
        from skim.cli import main
        from skim.map import map_synthetic
        from tests.conftest import HashEncoder
        out = r"{tmp_path / "s.jsonl"}"
        assert main(["generate", r"{tmp_path / "ds"}", out, "--direction",
                     "queries-to-labels"]) == 0
        matrix, _ = map_synthetic(r"{tmp_path / "ds"}", out, "queries-to-labels",
                                  encoder=HashEncoder(), cache_dir=r"{tmp_path / "c"}")
        assert matrix.nnz > 0
        from skim.data import load_dataset
        from skim.learners import predict, train
        from skim.simulate import simulate_bias
        ds = load_dataset(r"{tmp_path / "ds"}")
        simulate_bias(ds.replace(trn_X_Y_unbiased=ds.trn_X_Y, tst_X_Y_unbiased=ds.tst_X_Y),
                      exposure_topk=2, encoder=HashEncoder(), cache_dir=r"{tmp_path / "c"}")
        model = train(ds, r"{tmp_path / "m"}", encoder=HashEncoder(), epochs=1,
                      cache_dir=r"{tmp_path / "c"}", show_progress=False, device="cpu")
        assert predict(ds, model, k=1, encoder=HashEncoder(), cache_dir=r"{tmp_path / "c"}",
                       device="cpu").nnz > 0
        print(sorted(m for m in sys.modules if m == "ray" or m.startswith("ray.")))
    """)
    env = {"PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("command", ["generate", "map"])
def test_an_unreachable_cluster_is_one_sentence_and_status_2(tmp_path, capsys, monkeypatch,
                                                             command):  # fmt: skip
    ray = pytest.importorskip("ray", reason="the Ray tests need the ray extra (pip install ray)")
    monkeypatch.setattr(ray, "is_initialized", lambda: False)  # as a fresh process would be
    save_dataset(toy_dataset(), tmp_path / "ds")
    (tmp_path / "s.jsonl").write_text('{"source": 0, "texts": ["canine"]}\n')
    args = {
        "generate": ["generate", str(tmp_path / "ds"), str(tmp_path / "new.jsonl")],
        "map": ["map", str(tmp_path / "ds"), str(tmp_path / "s.jsonl"), str(tmp_path / "o.npz")],
    }[command]
    assert (
        main([*args, "--direction", "queries-to-labels", "--ray", "127.0.0.1:1"]) == 1
    )  # a runtime failure
    err = capsys.readouterr().err.strip()
    assert "cannot reach the Ray cluster at 127.0.0.1:1" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "new.jsonl").exists() and not (tmp_path / "o.npz").exists()


def test_a_bad_address_names_the_forms_it_takes(monkeypatch):
    ray = pytest.importorskip("ray", reason="the Ray tests need the ray extra (pip install ray)")
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    from skim.scale.cluster import connect

    with pytest.raises(SkimError, match="is not HOST:PORT, ray://HOST:PORT, 'auto' or 'local'"):
        connect("head-node")


def test_ray_section_of_the_config():
    raw = {"run": {"out": "o"}, "dataset": {"path": "d"}, "ray": {"address": "auto"}}
    assert check_config(raw)["ray"] == {"address": "auto", "actors": None, "cpus_per_actor": 1}
    assert check_config({"dataset": {"path": "d"}})["ray"]["address"] is None  # one process
    with pytest.raises(SkimError, match=r"\[ray\] actors must be an integer >= 1"):
        check_config({"dataset": {"path": "d"}, "ray": {"actors": 0}})
    with pytest.raises(SkimError, match=r"\[ray\] cpus_per_actor must be a positive number"):
        check_config({"dataset": {"path": "d"}, "ray": {"cpus_per_actor": 0}})


@pytest.mark.parametrize("command", ["simulate", "train", "predict"])
def test_the_encoding_commands_take_the_switch_and_fail_on_an_unreachable_cluster(
    tmp_path, capsys, monkeypatch, command
):
    ray = pytest.importorskip("ray", reason="the Ray tests need the ray extra (pip install ray)")
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    save_dataset(toy_dataset(), tmp_path / "ds")
    args = {
        "simulate": ["simulate", str(tmp_path / "ds"), str(tmp_path / "out")],
        "train": ["train", str(tmp_path / "ds"), str(tmp_path / "m")],
        "predict": ["predict", str(tmp_path / "ds"), str(tmp_path / "m"), str(tmp_path / "p.npz")],
    }[command]
    assert main([*args, "--ray", "127.0.0.1:1"]) == 1
    err = capsys.readouterr().err.strip()
    assert "cannot reach the Ray cluster at 127.0.0.1:1" in err and len(err.splitlines()) == 1
    assert not any((tmp_path / name).exists() for name in ("out", "m", "p.npz"))
