"""The conventions of the ``skim`` command as a whole: a closed pipe, -v/-q, help, --json."""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import scipy.sparse as sp

from skim._log import LOGGER, progress_enabled
from skim.cli import (
    CLOSED_PIPE_STATUS,
    COMMAND_ORDER,
    RUNTIME_FAILURE_STATUS,
    HelpFormatter,
    build_parser,
    commands_of,
    has_default,
    logging_to_stderr,
    main,
    verbosity,
)
from skim.data import save_dataset, save_matrix
from skim.pipeline.skeleton import config_skeleton
from skim.stage import run_stage

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _closed_reader(args: list[str]) -> subprocess.CompletedProcess:
    """Run ``python -m skim ARGS`` with its stdout a pipe whose reader is already gone, as in
    ``skim ... | head -1`` once head has exited."""
    env = {**os.environ, "PYTHONPATH": SRC}
    read, write = os.pipe()
    os.close(read)  # no reader left: the first write fails with EPIPE
    try:
        return subprocess.run(
            [sys.executable, "-m", "skim", *args],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=120,
        )
    finally:
        os.close(write)


@pytest.fixture
def dataset_dir(tmp_path, tiny_dataset):
    return save_dataset(tiny_dataset, tmp_path / "ds")


@pytest.mark.parametrize("command", [["stats"], ["--help"]])
def test_a_closed_pipe_stops_quietly_without_a_traceback(dataset_dir, command):
    args = [*command, str(dataset_dir)] if command == ["stats"] else command
    done = _closed_reader(args)
    assert done.stderr == ""  # no traceback, no "Exception ignored ... BrokenPipeError"
    assert done.returncode in (0, CLOSED_PIPE_STATUS)
    if command == ["stats"]:
        assert done.returncode == CLOSED_PIPE_STATUS  # what a shell shows for `yes | head -1`


def test_a_closed_pipe_after_evaluate_is_quiet(tmp_path, dataset_dir, tiny_dataset):
    save_matrix(tmp_path / "pred.npz", tiny_dataset.tst_X_Y)
    done = _closed_reader(["evaluate", str(dataset_dir), str(tmp_path / "pred.npz")])
    assert (done.returncode, done.stderr) == (CLOSED_PIPE_STATUS, "")


def test_a_warning_goes_through_the_skim_logger_even_with_quiet(dataset_dir, capsys):
    (dataset_dir / "filter_labels_test.txt").write_text("0 0\n")  # beside tst_filter_labels.txt
    ignored = dataset_dir / "filter_labels_test.txt"
    expected = f"skim: warning: {ignored} is ignored; tst_filter_labels.txt is read instead\n"
    for flags in ([], ["-q"]):
        assert main([*flags, "stats", str(dataset_dir), "--json"]) == 0
        out, err = capsys.readouterr()
        assert err == expected and out.startswith("{")


def test_user_errors_stay_one_sentence_and_verbose_adds_the_traceback(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert main(["stats", str(missing)]) == 2
    assert capsys.readouterr().err == f"skim stats: error: {missing}: not a dataset directory\n"
    assert main(["-v", "stats", str(missing)]) == 2
    first, second, *trace = capsys.readouterr().err.splitlines()
    assert first == f"skim stats: error: {missing}: not a dataset directory"
    assert second == "skim: debug: where the error was raised"
    assert trace[0] == "Traceback (most recent call last):" and "DatasetError" in trace[-1]


def test_quiet_and_verbose_work_after_the_command_too(tmp_path, dataset_dir, capsys):
    parser = build_parser()
    generate = ["generate", "data", "out.jsonl", "--direction", "queries-to-labels"]
    cases = [
        (["stats", "data"], 0),
        (["stats", "data", "-q"], -1),
        (["-q", "stats", "data"], -1),
        ([*generate, "-v"], 1),
        (["-v", *generate], 1),
        (["-q", "stats", "data", "--verbose"], 1),  # the last one given counts
        (["datasets", "import", "src", "out", "--quiet"], -1),  # import's own switch is -q
        (["teach", "data", "out", "--direction", "queries-to-labels", "--quiet"], -1),
    ]
    assert [verbosity(parser.parse_args(argv)) for argv, _ in cases] == [v for _, v in cases]
    for name, command in commands_of(parser):
        assert {"-q", "--quiet", "-v", "--verbose"} <= set(command._option_string_actions), name
    missing = tmp_path / "nowhere"
    assert main(["stats", str(missing), "-v"]) == 2  # the same meaning as before the command
    first, second, *trace = capsys.readouterr().err.splitlines()
    assert second == "skim: debug: where the error was raised" and "DatasetError" in trace[-1]
    assert main(["stats", str(dataset_dir), "-q", "-v"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_the_help_of_verbose_and_quiet_shows_no_default():
    helps = [build_parser().format_help()] + [c.format_help() for _, c in _commands()]
    for text in helps:
        flat = " ".join(text.split())
        # -v's help, then -q's, with no "(default: 0)" between them
        assert "(cache hits, why a stage runs, a user error's traceback) -q" in flat, text[:60]


def test_an_error_names_the_command_run_once(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert main(["datasets", "import", str(missing), str(tmp_path / "ds")]) == 2
    assert capsys.readouterr().err.startswith(f"skim datasets import: error: {missing}: ")
    assert main(["demo", "--quick", "--full"]) == 2
    assert capsys.readouterr().err == "skim demo: error: choose --quick or --full, not both\n"


@pytest.mark.parametrize("command", ["generate", "teach"])
def test_an_endpoint_that_cannot_be_reached_exits_1_not_2(command, tmp_path, monkeypatch, capsys):
    import socket

    from .distill.helpers import toy_dataset

    data = save_dataset(toy_dataset(), tmp_path / "data")
    monkeypatch.setenv("SKIM_API_KEY", "sk-test")
    with socket.socket() as sock:  # a port with nothing listening
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    argv = [command, str(data), str(tmp_path / "out.jsonl"), "--direction", "queries-to-labels",
            "--model", "m", "--endpoint", url, "--max-retries", "0", "-q"]  # fmt: skip
    if command == "generate":
        argv += ["--generator", "openai"]
    assert main(argv) == RUNTIME_FAILURE_STATUS == 1
    err = capsys.readouterr().err
    assert err.startswith(f"skim {command}: error: cannot reach {url} ")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "Exit status: 0 done; 1 a runtime failure: a server that cannot be reached" in " ".join(
        build_parser().format_help().split()
    )


def test_verbose_shows_debug_detail_of_the_stages(tmp_path, capsys):
    out = tmp_path / "out.txt"

    def make() -> None:
        out.write_text("x")

    with logging_to_stderr(1):
        run_stage(tmp_path, "make", make, [out], log=lambda line: None)
    assert f"skim: debug: [make] no stamp {tmp_path / '.skim-stages' / 'make.json'}" in (
        capsys.readouterr().err
    )
    with logging_to_stderr(0):  # the default: no debug lines
        run_stage(tmp_path, "make", make, [out], settings={"v": 2}, log=lambda line: None)
    assert capsys.readouterr().err == ""


def test_quiet_and_verbose_exclude_each_other_and_leave_the_logger_as_found(capsys):
    assert main(["-q", "-v", "stats", "x"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err
    before = (LOGGER.level, list(LOGGER.handlers))
    with logging_to_stderr(-1):
        assert LOGGER.level == logging.WARNING and not progress_enabled(True)
    assert (LOGGER.level, list(LOGGER.handlers)) == before
    assert progress_enabled(True) and not progress_enabled(False)


def _commands():
    """Every command's parser as (name, parser), nested ones (``datasets import``) included."""
    return commands_of(build_parser())


def _help_gaps(name, parser) -> list[str]:
    gaps = []
    formatter = parser._get_formatter()
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        what = f"skim {name} {'/'.join(action.option_strings) or action.dest}"
        if not action.help or action.help == argparse.SUPPRESS:
            gaps.append(f"{what}: no help")
            continue
        shown = formatter._expand_help(action)
        if has_default(action) and "(default" not in shown:
            gaps.append(f"{what}: default {action.default!r} not shown")
        if shown.count("(default") > 1 or shown.count("(default") > shown.count("(default: "):
            gaps.append(f"{what}: a default not written once as '(default: X)'")
    if "Example" not in (parser.epilog or ""):
        gaps.append(f"skim {name}: no example in its epilog")
    return gaps


def test_every_option_of_every_command_has_help_a_shown_default_and_an_example():
    commands = dict(_commands())
    assert {"datasets wordnet", "datasets import", "run", "evaluate", "whatif"} <= set(commands)
    gaps = [gap for name, parser in commands.items() for gap in _help_gaps(name, parser)]
    assert gaps == []


def test_the_help_checker_finds_a_missing_help_default_and_example():
    p = argparse.ArgumentParser(formatter_class=HelpFormatter)
    p.add_argument("--bare", type=int, default=3)
    p.add_argument("--said", type=int, default=3, help="a count")
    p.add_argument("--zero", type=int, default=0, help="a seed")
    p.add_argument("--twice", type=int, default=3, help="a count (default 3)")
    assert _help_gaps("toy", p) == [
        "skim toy --bare: no help",
        "skim toy --twice: a default not written once as '(default: X)'",
        "skim toy: no example in its epilog",
    ]
    shown = " ".join(p.format_help().split())
    assert "a count (default: 3)" in shown and "a seed (default: 0)" in shown


def test_commands_are_listed_in_pipeline_order():
    listing = build_parser().format_help()
    names = [line.split()[0] for line in listing.split("COMMAND\n")[1].split("\n\n")[0].splitlines()
             if line.startswith("    ") and not line.startswith("     ")]  # fmt: skip
    assert names == list(COMMAND_ORDER)
    assert names.index("teach") < names.index("distill") < names.index("generate")
    assert names.index("map") < names.index("train") < names.index("evaluate") < names.index("run")


def _json_stdout(capsys) -> object:
    """stdout parsed as one JSON document: fails if anything else was printed there."""
    return json.loads(capsys.readouterr().out)


def test_stats_and_evaluate_print_text_or_only_json(tmp_path, dataset_dir, tiny_dataset, capsys):
    assert main(["stats", str(dataset_dir), "--json"]) == 0
    assert _json_stdout(capsys)["labels"] == 4
    save_matrix(tmp_path / "pred.npz", tiny_dataset.tst_X_Y)  # the observed labels, exactly
    argv = ["evaluate", str(dataset_dir), str(tmp_path / "pred.npz"), "--k", "1"]
    assert main(argv) == 0
    assert "P@1" in capsys.readouterr().out
    assert main([*argv, "--json"]) == 0
    printed = _json_stdout(capsys)
    assert printed["observed"]["P@1"] == 1.0 and printed["empty_rows"] == "skip"
    assert main([*argv, "--json", str(tmp_path / "m.json")]) == 0  # a file, as before
    assert "P@1" in capsys.readouterr().out
    assert json.loads((tmp_path / "m.json").read_text()) == printed


RESULTS = [
    {
        "name": "observed",
        "learner": "ova",
        "method": "none",
        "metrics": {
            "observed": {"P@5": 0.2, "R@10": 0.5, "R@25": 0.5, "R@100": 1.0},
            "unbiased": {"P@5": 0.2, "R@10": 0.25, "R@25": 0.5, "R@100": 0.75, "PSP@5": 0.1},
        },
    }
]


PAIRS_ADDED = (
    "Pairs added:\n\n- **extractive**: 3 pairs added at tau 0.9, estimated precision 0.500."
)


@pytest.fixture
def fake_pipeline(monkeypatch, tmp_path):
    """run_pipeline replaced by one that logs stage lines and writes a report and metrics."""

    def run_pipeline(config, log=print):
        out = Path(config["run"]["out"])
        out.mkdir(parents=True, exist_ok=True)
        log("[dataset] running")
        (out / "metrics.json").write_text(json.dumps(RESULTS))
        (out / "report.md").write_text(
            f"# SKIM run\n\nthe summary\n\n{PAIRS_ADDED}\n\n## Details\n\nmore\n"
        )
        return out / "report.md"

    monkeypatch.setattr("skim.pipeline.run_pipeline", run_pipeline)
    config = tmp_path / "config.toml"

    config.write_text(config_skeleton().replace('out = "skim-run"', f'out = "{tmp_path / "run"}"'))
    return config


def test_run_and_compare_print_only_json_and_stage_lines_go_to_stderr(fake_pipeline, capsys):
    assert main(["run", str(fake_pipeline)]) == 0
    out, err = capsys.readouterr()
    assert "the summary" in out and "Details" not in out
    report = fake_pipeline.parent / "run" / "report.md"
    assert out.endswith(f"{PAIRS_ADDED}\n\nreport: {report}\n")  # what SKIM added, last
    assert err == "skim: [dataset] running\n"
    assert main(["-q", "run", str(fake_pipeline), "--json"]) == 0
    out, err = capsys.readouterr()
    printed = json.loads(out)
    assert printed["metrics"] == RESULTS and printed["report"].endswith("report.md")
    assert err == ""  # -q: no stage lines
    assert main(["compare", str(fake_pipeline), "--methods", "none", "--json"]) == 0
    printed = _json_stdout(capsys)
    assert printed["metrics"] == RESULTS and Path(printed["comparison"]).is_file()


def test_demo_and_whatif_print_only_json(monkeypatch, tmp_path, capsys):
    def whatif_curve(dataset, out, log=print, **kwargs):
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        log("[whatif] running")
        (out / "whatif.json").write_text(json.dumps([{"kind": "baseline", "new_pairs": 0}]))
        (out / "whatif.md").write_text("| the table |\n")
        (out / "whatif.png").write_bytes(b"\x89PNG")
        return []

    monkeypatch.setattr("skim.evaluate.whatif.whatif_curve", whatif_curve)
    argv = ["whatif", str(tmp_path), "--out", str(tmp_path / "w"), "--json"]
    assert main(argv) == 0
    printed = _json_stdout(capsys)
    assert printed["points"] == [{"kind": "baseline", "new_pairs": 0}]
    assert printed["table"] == str(tmp_path / "w" / "whatif.md")

    def run_pipeline(config, log=print):
        out = Path(config["run"]["out"])
        (out / "dataset").mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps(RESULTS))
        (out / "report.md").write_text(f"# SKIM demo\n\nthe summary\n\n{PAIRS_ADDED}\n")
        for name in ("demos.seed.npz", "trn_X_Y_skim-extractive.npz"):
            save_matrix(out / name, sp.csr_matrix((2, 2), dtype="float32"))
        return out / "report.md"

    monkeypatch.setattr("skim.pipeline.run_pipeline", run_pipeline)
    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--out", str(out), "--json"]) == 0
    printed = _json_stdout(capsys)
    assert printed["metrics"] == RESULTS and printed["whatif"]["plot"].endswith("whatif.png")
    assert main(["demo", "--quick", "--out", str(out), "--no-whatif", "--json"]) == 0
    assert _json_stdout(capsys)["whatif"] is None
    assert main(["demo", "--quick", "--out", str(out), "--no-whatif"]) == 0
    printed = capsys.readouterr().out
    assert printed.endswith(f"{PAIRS_ADDED}\n\nFull report: {out / 'report.md'}\n")
    assert printed.count("Pairs added:") == 1 and "the summary" in printed


def test_every_example_in_the_help_parses():
    import shlex

    examples = [
        line.split("#")[0].split(">")[0].split("|")[0].strip()
        for _, parser in [("skim", build_parser()), *_commands()]
        for line in (parser.epilog or "").splitlines()
        if line.startswith("  skim ")
    ]
    assert len(examples) >= len(COMMAND_ORDER)
    for example in examples:
        args = build_parser().parse_args(shlex.split(example)[1:])  # exits 2 on a bad flag
        assert callable(args.func), example
