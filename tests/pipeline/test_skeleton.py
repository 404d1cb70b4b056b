"""``skim run --example``: a commented config that ``skim run`` accepts as is."""

from __future__ import annotations

from skim.cli import main
from skim.pipeline.config import SCHEMA, check_config, load_config, runs_using, tomllib
from skim.pipeline.skeleton import KEY_NOTES, STARTER, config_skeleton, toml_value


def test_printed_skeleton_loads_as_is_and_states_the_defaults(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--example"]) == 0
    printed = capsys.readouterr().out
    assert printed == config_skeleton()
    path = tmp_path / "config.toml"
    path.write_text(printed, encoding="utf-8")
    loaded = load_config(path)
    assert loaded["run"]["out"] == "skim-run" and loaded["dataset"]["builder"] == "wordnet"
    expected = check_config(STARTER)
    assert {s: loaded[s] for s in SCHEMA} == {s: expected[s] for s in SCHEMA}
    assert loaded["_present"]["simulate"] is False  # its presence alone would simulate


def test_every_schema_key_has_a_note_and_a_line():
    missing = [(s, k) for s, keys in SCHEMA.items() for k in keys if k not in KEY_NOTES.get(s, {})]
    assert missing == []
    lines = config_skeleton().splitlines()
    for keys in SCHEMA.values():
        for key in keys:
            assert sum(line.lstrip("# ").startswith(f"{key} = ") for line in lines) >= 1, key


def test_each_commented_example_is_a_value_the_schema_accepts():
    for section, keys in KEY_NOTES.items():
        for key, (_, example) in keys.items():
            if example is None or key not in SCHEMA.get(section, {}):
                continue
            value = tomllib.loads(f"x = {toml_value(example)}")["x"]
            assert value == example and isinstance(value, SCHEMA[section][key][0]), (section, key)
            raw = {**STARTER, section: {**STARTER.get(section, {}), key: value}}
            if (section, key) == ("dataset", "path"):  # instead of the builder
                raw["dataset"] = {"path": value}
            if section == "generate" and runs_using(key):  # with a generator run that uses it
                raw["generate"]["generators"] = [runs_using(key)[0]]
                raw["teach"] = {"endpoint": "http://localhost:8000/v1", "model": "m"}
            check_config(raw)  # uncommented alone, each example is a valid setting


def test_toml_value_round_trips():
    value = {"s": 'a "quoted"\\path', "b": False, "n": [1, 2.5], "t": {"ova": 5}}
    assert tomllib.loads(f"x = {toml_value(value)}")["x"] == value


def test_run_without_a_config_is_one_sentence(capsys):
    assert main(["run"]) == 2
    assert capsys.readouterr().err == (
        "skim run: error: give a CONFIG file (skim run --example prints one to start from)\n"
    )
