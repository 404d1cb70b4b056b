"""A new generator is one class, one builder and one registration: nothing else changes."""

import json

import pytest

from skim.cli import main
from skim.data import save_dataset
from skim.direction import source_texts
from skim.generate import GENERATORS, RUNS
from skim.generate.base import Item
from skim.generate.registry import GeneratorEntry, register_generator
from skim.pipeline import check_config

from ..distill.helpers import toy_dataset


class EchoGenerator:
    """A toy generator: each item's text, shouted, ``num_return`` times."""

    name = "echo"

    def __init__(self, num_return: int, loud: bool) -> None:
        self.num_return, self.loud = num_return, loud
        self.settings = {"num_return": num_return, "loud": loud}

    def generate(self, items: list[Item]) -> list[list[str]]:
        word = (lambda t: t.upper()) if self.loud else str
        return [[f"{word(item.text)} {i}" for i in range(self.num_return)] for item in items]


def build_echo(dataset, direction, *, model, adapter, no_metadata, num_return, seed, loud=True):
    return EchoGenerator(num_return, loud)


@pytest.fixture
def echo():
    register_generator("echo", GeneratorEntry(build_echo, "shouts the item back", num_return=2))
    yield
    GENERATORS.unregister("echo")
    RUNS.unregister("echo")


def test_a_registered_generator_runs_through_skim_generate(echo, tmp_path, capsys):
    dataset = toy_dataset()
    data = save_dataset(dataset, tmp_path / "data")
    out = tmp_path / "s.jsonl"
    args = ["generate", str(data), str(out), "--direction", "queries-to-labels"]
    assert main([*args, "--generator", "echo"]) == 0
    assert f"out: {out}" in capsys.readouterr().out  # key: value lines for a person
    assert main([*args, "--generator", "echo", "--json"]) == 0  # a rerun: nothing left to do
    summary = json.loads(capsys.readouterr().out)  # the whole of stdout is one document
    assert summary["out"] == str(out) and summary["failed"] == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    first = source_texts(dataset, "queries-to-labels")[0][0]
    assert records[0]["source"] == 0
    assert records[0]["texts"] == [f"{first.upper()} 0", f"{first.upper()} 1"]  # its default: 2
    assert len(records) == dataset.n_trn


def test_a_registered_generator_is_a_choice_of_the_cli_and_of_the_config(echo, capsys):
    assert main(["generate", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "{extractive,hf,vllm,openai,echo}" in help_text
    assert "echo: shouts the item back" in help_text
    config = check_config({"dataset": {"builder": "wordnet"}, "generate": {"generators": ["echo"]}})
    assert config["generate"]["generators"] == ["echo"]


def test_without_its_registration_the_name_is_unknown(tmp_path, capsys):
    data = save_dataset(toy_dataset(), tmp_path / "data")
    args = ["generate", str(data), str(tmp_path / "s.jsonl"), "--direction", "queries-to-labels"]
    assert main([*args, "--generator", "echo"]) == 2
    assert "invalid choice: 'echo'" in capsys.readouterr().err
