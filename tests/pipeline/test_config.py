import re

import pytest

from skim.cli import main
from skim.errors import SkimError
from skim.pipeline import check_config, load_config


def _write(tmp_path, text):
    path = tmp_path / "c.toml"
    path.write_text(text)
    return path


def test_defaults_are_filled_and_relative_paths_resolved(tmp_path):
    (tmp_path / "data").mkdir()
    cfg = load_config(_write(tmp_path, '[run]\nout = "o"\n[dataset]\npath = "data"\n'))
    assert cfg["map"]["tau"] == 0.8 and cfg["map"]["topk"] == 10
    assert cfg["train"]["learners"] == ["ova", "dual"]
    assert cfg["dataset"]["path"] == str(tmp_path / "data")
    assert cfg["_present"]["simulate"] is False
    assert cfg["evaluate"]["empty_rows"] == "skip"  # the paper's R@k


def test_empty_rows_keep_is_accepted():
    raw = {"run": {"out": "o"}, "dataset": {"path": "d"}, "evaluate": {"empty_rows": "keep"}}
    assert check_config(raw)["evaluate"]["empty_rows"] == "keep"


@pytest.mark.parametrize(
    ("base", "resolved"),
    [("models/tiny.gguf", "DIR/models/tiny.gguf"), ("gemma3-270m", "gemma3-270m"),
     ("org/model", "org/model")],
)  # fmt: skip
def test_a_relative_gguf_base_is_resolved_beside_the_config(tmp_path, base, resolved):
    text = f'[run]\nout = "o"\n[dataset]\npath = "d"\n[distill]\nbase = "{base}"\n'
    (tmp_path / "d").mkdir()  # the dataset folder must exist when the config is loaded
    cfg = load_config(_write(tmp_path, text))
    assert cfg["distill"]["base"] == resolved.replace("DIR", str(tmp_path))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[run]\nout="o"\n[dataset]\npath="d"\n[mapp]\n', r"unknown section \[mapp\]"),
        ('[run]\nout="o"\n[dataset]\npath="d"\n[map]\ntua=1\n', r"unknown key 'tua' in \[map\]"),
        ('[run]\nout="o"\n[dataset]\npath="d"\n[map]\ntopk="ten"\n', r"\[map\] topk must be int"),
        ('[run]\nout="o"\n[dataset]\n', r"needs exactly one of path"),
        ('[run]\nout="o"\n[dataset]\npath="d"\n[map]\ntau="auto"\n', "needs target_precision"),
        (
            '[run]\nout="o"\n[dataset]\npath="d"\n[train]\nlearners=["svm"]\n',
            "unknown learner 'svm'",
        ),
        (
            '[run]\nout="o"\n[dataset]\npath="d"\n[teach]\nteacher="endpoint"\n',
            "needs endpoint and model",
        ),
        ('[run]\nout="o"\n[dataset]\npath="d"\n[map]\nagree_learner="svm"\n', "agree_learner"),
        ('[run]\nout="o"\n[dataset]\npath="d"\n[map]\nmin_votes=0\n', "min_votes must be"),
        ('[dataset]\npath="d"\n', r"\[run\] out .* is required"),
        ('[run]\nout="o"\n[dataset]\nbuilder="wordnet"\ndepth="deep"\n', r"\[dataset\] depth must"),
        ('[run]\nout="o"\n[dataset]\nbuilder="wordnet"\ndepth=0\n', r"\[dataset\] depth must"),
        ("[run\n", "not valid TOML"),
        (
            '[run]\nout="o"\n[dataset]\npath="d"\n[evaluate]\nempty_rows="drop"\n',
            r"\[evaluate\] empty_rows must be one of keep, skip",
        ),
    ],
)
def test_config_errors_are_one_sentence(tmp_path, text, message):
    with pytest.raises(SkimError, match=message):
        load_config(_write(tmp_path, text))


def test_depth_all_is_accepted():
    raw = {"run": {"out": "o"}, "dataset": {"builder": "wordnet", "depth": "all"}}
    assert check_config(raw)["dataset"]["depth"] == "all"


def test_bool_is_not_an_int():
    with pytest.raises(SkimError, match="must not be true/false"):
        check_config({"dataset": {"path": "d"}, "map": {"topk": True}})


def test_cli_reports_config_error_with_status_2(tmp_path, capsys):
    assert main(["run", str(_write(tmp_path, "[run\n"))]) == 2
    assert "not valid TOML" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "none.toml")]) == 2


def test_shipped_example_and_demo_configs_are_valid():
    from pathlib import Path

    from skim.demo import demo_config

    example = Path(__file__).parents[2] / "examples" / "wordnet.toml"
    assert load_config(example, out="o")["dataset"]["builder"] == "wordnet"
    compare = load_config(example.with_name("wordnet-compare.toml"))
    assert "lever+ips" in compare["train"]["methods"] and compare["train"]["epochs"]["ova"] == 1
    quick = check_config(demo_config("o", quick=True))
    assert quick["generate"]["generators"] == ["extractive"] and quick["dataset"]["lexfiles"]
    assert (quick["dataset"]["depth"], quick["dataset"]["exposure_topk"]) == ("all", 20)
    default = check_config(demo_config("o", student=False))
    assert default["generate"]["generators"] == ["extractive"]
    assert len(default["dataset"]["lexfiles"]) == 4
    full = check_config(demo_config("o", full=True, student=False))
    assert full["dataset"]["lexfiles"] is None


def test_demo_adds_the_pretrained_student_on_a_sample_when_asked_or_installed(monkeypatch):
    import skim.demo as demo

    config = check_config(demo.demo_config("o", student=True))
    assert config["generate"]["generators"] == ["extractive", "slm"]
    assert config["distill"]["base"] == demo.STUDENT_BASE and not config["distill"]["from_scratch"]
    assert config["distill"]["max_steps"] == demo.STUDENT_STEPS  # the CPU budget
    # 16 demonstrations a step, 4 a pass: Gemma's head on 16 at once peaked at 7.2 GB
    assert (config["distill"]["batch_size"], config["distill"]["gradient_accumulation"]) == (4, 4)
    assert check_config(demo.demo_config("o", student=False))["distill"]["batch_size"] == 16
    assert config["generate"]["model_items"] == demo.STUDENT_ITEMS_CPU
    monkeypatch.setattr(demo, "student_installed", lambda: True)
    assert "slm" in demo.demo_config("o")["generate"]["generators"]
    assert "slm" not in demo.demo_config("o", quick=True)["generate"]["generators"]
    monkeypatch.setattr(demo, "student_installed", lambda: False)
    assert "slm" not in demo.demo_config("o")["generate"]["generators"]


def test_demo_refuses_quick_and_full_together(capsys):
    assert main(["demo", "--quick", "--full", "--out", "o"]) == 2
    assert "--quick or --full" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("table", "key", "value", "must"),
    [
        ("generate", "tensor_parallel_size", '"2"', "be int, got '2'"),
        ("generate", "gpu_memory_utilization", "1.5", r"be in \(0, 1\], got 1.5"),
        ("generate", "max_model_len", "0.5", "be int, got 0.5"),
        ("generate", "max_new_tokens", "0", "be an integer >= 1, got 0"),
        ("generate", "temperature", "true", "not be true/false"),
        ("distill", "gradient_checkpointing", "1", "be bool, got 1"),
        ("distill", "precision", '"fp16"', "be one of auto, bf16, fp32"),
        ("distill", "learning_rate", '"3e-4"', "be int or float, got '3e-4'"),
    ],
)
def test_a_gpu_setting_of_the_wrong_type_is_one_sentence_naming_the_key(
    tmp_path, table, key, value, must
):
    (tmp_path / "d").mkdir()
    head = '[run]\nout = "o"\n[dataset]\npath = "d"\n'
    generators = 'generators = ["vllm"]\n' if table == "generate" else ""
    path = _write(tmp_path, f"{head}[{table}]\n{generators}{key} = {value}\n")
    where = re.escape(str(path))
    with pytest.raises(SkimError, match=rf"^{where}: \[{table}\] {key} must {must}$"):
        load_config(path)


@pytest.mark.parametrize(
    ("generate", "message"),
    [
        ({"tensor_parallel_size": 2}, r'tensor_parallel_size is a setting of the "vllm" generator'),
        ({"model": "runs/a/slm", "generators": ["slm"]}, r"a distilled student folder is \[gen"),
        ({"student": "runs/a/slm"}, r'student is a setting of the "slm", "vllm" or "udapdr"'),
    ],
)  # fmt: skip
def test_a_generate_key_no_generator_run_uses_is_an_error_not_ignored(generate, message):
    with pytest.raises(SkimError, match=message):
        check_config({"dataset": {"path": "d"}, "generate": generate})


@pytest.mark.parametrize(
    ("cli_name", "config_name"),
    [("llm", "endpoint"), ("endpoint", "endpoint")],
)
def test_teacher_takes_the_command_lines_name_too(tmp_path, cli_name, config_name):
    (tmp_path / "d").mkdir()
    teach = f'teacher = "{cli_name}"\nendpoint = "http://localhost:1/v1"\nmodel = "m"\n'
    text = f'[run]\nout = "o"\n[dataset]\npath = "d"\n[teach]\n{teach}'
    assert load_config(_write(tmp_path, text))["teach"]["teacher"] == config_name


@pytest.mark.parametrize("name", ["hf", "slm"])
def test_the_student_generator_takes_the_command_lines_name_too(name):
    from skim.pipeline.run import _method_rows

    from ..distill.helpers import toy_dataset

    config = check_config({"dataset": {"path": "d"}, "generate": {"generators": [name]}})
    assert config["generate"]["generators"] == ["slm"]  # one stage, one stamp, one row
    rows = _method_rows(config, toy_dataset(), seeded=True)
    assert rows[-2] == {"name": "SKIM (slm)", "labels": "skim-slm", "method": "none"}
