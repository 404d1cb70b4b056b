"""``--device`` on every command that has one: checked in one sentence, kept out of stamps."""

import json

import pytest
import torch

from skim.cli import build_parser, commands_of, main
from skim.data import save_dataset
from skim.devices import resolve_device
from skim.distill import DistillParams
from skim.errors import SkimError
from skim.generate import GENERATORS, RUNS, GenerateParams
from skim.generate.registry import GeneratorEntry, register_generator
from skim.pipeline import check_config
from skim.pipeline.params import run_params

from .distill.helpers import toy_dataset, write_demos

NO_GPU = "needs a GPU and a CUDA build of torch"


@pytest.fixture
def cpu_only(monkeypatch):
    """This machine as a CPU-only torch sees it, whatever the machine running the test."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def test_resolve_device(cpu_only):
    assert resolve_device(None) == "cpu" and resolve_device("cpu") == "cpu"
    with pytest.raises(SkimError, match=f"device 'cuda' {NO_GPU}.*use --device cpu"):
        resolve_device("cuda")
    with pytest.raises(SkimError, match="'gpu0' is not a torch device; use cpu, cuda"):
        resolve_device("gpu0")


def test_a_missing_gpu_is_one_sentence_and_exit_2_on_every_command(tmp_path, cpu_only, capsys):
    data = save_dataset(toy_dataset(), tmp_path / "data")
    demos = write_demos(tmp_path / "demos.jsonl")
    config = tmp_path / "run.toml"
    config.write_text(f'[run]\nout = "{tmp_path / "o"}"\n[dataset]\npath = "{data}"\n')
    synthetic = tmp_path / "syn.jsonl"
    synthetic.write_text('{"source": 0, "texts": ["canine"]}\n')
    commands = {
        "datasets wordnet": ["datasets", "wordnet", str(tmp_path / "wn")]
        + ["--lexfiles", "noun.food"],
        "simulate": ["simulate", str(data), str(tmp_path / "sim")],
        "distill": ["distill", str(demos), str(tmp_path / "m"), "--from-scratch"],
        "generate": ["generate", str(data), str(tmp_path / "s.jsonl")]
        + ["--direction", "queries-to-labels", "--generator", "hf", "--model", "x"],
        "map": ["map", str(data), str(synthetic), str(tmp_path / "new.npz")]
        + ["--direction", "queries-to-labels"],
        "train": ["train", str(data), str(tmp_path / "model")],
        "predict": ["predict", str(data), str(tmp_path / "model"), str(tmp_path / "p.npz")],
        "run": ["run", str(config)],
        "compare": ["compare", str(config)],
        "whatif": ["whatif", str(data), "--out", str(tmp_path / "w")],
        "demo": ["demo", "--quick", "--out", str(tmp_path / "demo")],
    }
    takes_device = {name for name, parser in commands_of(build_parser()) if "--device" in
                    parser._option_string_actions}  # fmt: skip
    assert takes_device <= set(commands)  # every command with a --device is tried below
    for name, argv in commands.items():
        assert main([*argv, "--device", "cuda"]) == 2, name
        err = capsys.readouterr().err
        assert err.startswith(f"skim {name}: error: ") and NO_GPU in err, name
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, name
    written = ("wn", "sim", "m", "new.npz", "model", "p.npz", "o", "demo", "w")
    assert not any((tmp_path / name).exists() for name in written)
    config.write_text(config.read_text().replace("[run]\n", '[run]\ndevice = "cuda"\n'))
    assert main(["run", str(config)]) == 2
    assert f"{config}: [run] device 'cuda' {NO_GPU}" in capsys.readouterr().err


def test_the_device_is_a_runtime_field_of_every_stage(tmp_path):
    raw = {"run": {"out": str(tmp_path), "device": "cpu"}, "dataset": {"path": str(tmp_path)}}
    run = run_params(check_config(raw))
    assert run.distill.device == run.generate.device == run.train.device == "cpu"
    for params in (run.distill, run.generate, run.train):
        assert "device" not in params.to_dict()
    assert DistillParams(device="cuda").to_dict() == DistillParams().to_dict()
    assert GenerateParams(device="cuda").to_dict() == GenerateParams().to_dict()


class Recorder:
    name = "recorder"
    settings: dict = {}

    def generate(self, items):
        return [["x"] for _ in items]


def test_the_device_reaches_a_generator_that_runs_a_model_and_no_other(tmp_path):
    seen = []

    def build(dataset, direction, *, model, adapter, no_metadata, num_return, seed, **options):
        seen.append(options)
        return Recorder()

    register_generator("local", GeneratorEntry(build, "a model run here", device=True))
    register_generator("remote", GeneratorEntry(build, "an endpoint"))
    try:
        from skim.generate import generate

        for name in ("local", "remote"):
            generate(
                toy_dataset(), tmp_path / f"{name}.jsonl", "queries-to-labels", generator=name,
                device="cpu", show_progress=False,
            )  # fmt: skip
    finally:
        for name in ("local", "remote"):
            GENERATORS.unregister(name)
            RUNS.unregister(name)
    assert seen == [{"device": "cpu"}, {}]
    manifest = json.loads((tmp_path / "local.manifest.json").read_text())
    assert "device" not in manifest
