import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import skim
from skim.cli import main
from skim.errors import SkimError
from skim.teach import read_records, teach

from .fake_openai import FakeChatServer

# a loopback reply never takes 1 s, so only the injected "slow" reply (1.5 s) times out
FAST = {"timeout": 1.0, "max_retries": 4, "backoff": 0.01, "max_backoff": 0.02, "progress": False}
ITEMS = [f"item-{k}" for k in range(8)]


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_item_ends_answered_or_failed_despite_faults(tmp_path, served_dataset):
    faults = {
        "item-0": ["429"],
        "item-1": ["500", "503"],
        "item-2": ["slow"],
        "item-3": ["malformed"],
        "item-4": ["drop"],
        "item-5": ["noshape", "empty", "text"],
        "item-6": ["500"] * 5,  # one more than max_retries allows
        "item-7": ["nolist", "429ms"],
    }
    out = tmp_path / "demos.jsonl"
    with FakeChatServer(faults, slow_s=1.5) as server:
        summary = teach(
            served_dataset, out, "labels-to-queries", server.url, "m", concurrency=4, **FAST
        )
        outcomes = {item: server.outcomes(item) for item in ITEMS}
    assert (summary["items"], summary["answered"], summary["failed"]) == (8, 7, 1)
    for item in ITEMS:
        expected_ok = 0 if item == "item-6" else 1
        assert outcomes[item].count("ok") == expected_ok, item  # never asked again once answered
    assert outcomes["item-5"] == ["noshape", "empty", "text", "ok"]
    records = _lines(out)
    assert [r["source"] for r in records] == [0, 1, 2, 3, 4, 5, 7]
    assert records[0]["texts"] == ["item-0 alpha", "item-0 beta"]
    assert records[0]["known"] == ["query zero"]
    assert records[1]["attempts"] == 3
    assert summary["retried_errors"] == {
        "429": 2, "500": 6, "503": 1, "timeout": 1, "malformed": 4, "connection": 1, "unusable": 1
    }  # fmt: skip
    assert summary["prompt_tokens"] == 700 and summary["completion_tokens"] == 70
    (failed,) = _lines(tmp_path / "demos.failed.jsonl")
    assert failed["source"] == 6 and failed["attempts"] == 5 and "500" in failed["error"]
    manifest = json.loads((tmp_path / "demos.manifest.json").read_text())
    assert manifest["failed"] == 1 and manifest["teacher"] == "m"

    with FakeChatServer() as server:  # the rerun asks the failed item only
        again = teach(served_dataset, out, "labels-to-queries", server.url, "m", **FAST)
        assert server.asked() == ["item-6"]
    assert (again["cached"], again["asked"], again["failed"]) == (7, 1, 0)
    assert [r["source"] for r in _lines(out)] == list(range(8))
    assert not (tmp_path / "demos.failed.jsonl").exists()


def test_retry_after_is_respected(tmp_path, served_dataset):
    with FakeChatServer({item: ["429"] for item in ITEMS}, retry_after="1") as server:
        teach(served_dataset, tmp_path / "d.jsonl", "labels-to-queries", server.url, "m",
              sample=1, **FAST)  # fmt: skip
        (t429, _, _), (tok, _, outcome) = server.log
    assert outcome == "ok" and tok - t429 >= 0.95


def test_max_rpm_spaces_request_starts(tmp_path, served_dataset):
    with FakeChatServer() as server:
        before = time.monotonic()
        teach(served_dataset, tmp_path / "d.jsonl", "labels-to-queries", server.url, "m",
              concurrency=4, max_rpm=600, sample=5, **FAST)  # fmt: skip
        arrivals = sorted(t for t, _, _ in server.log)
    assert len(arrivals) == 5
    assert arrivals[-1] - before >= 0.4  # 600/min: the 5th start is 0.4 s after the 1st


def test_unrecoverable_statuses(tmp_path, served_dataset):
    one_by_one = {**FAST, "concurrency": 1}  # items are asked in order
    with FakeChatServer({"item-3": ["400"]}) as server:
        summary = teach(served_dataset, tmp_path / "d.jsonl", "labels-to-queries", server.url,
                        "m", **one_by_one)  # fmt: skip
        assert server.outcomes("item-3") == ["400"]  # a bad request is not repeated
    assert summary["failed"] == 1 and summary["answered"] == 7
    with FakeChatServer({"item-0": ["400"]}) as server:  # before any success: the settings
        with pytest.raises(SkimError, match="rejected the request for model 'm' .*status 400"):
            teach(served_dataset, tmp_path / "e.jsonl", "labels-to-queries", server.url, "m",
                  **one_by_one)  # fmt: skip
    with FakeChatServer({item: ["401"] for item in ITEMS}) as server:
        with pytest.raises(SkimError, match="refused model 'm' with status 401"):
            teach(served_dataset, tmp_path / "e.jsonl", "labels-to-queries", server.url, "m",
                  **FAST)  # fmt: skip
    assert not (tmp_path / "e.jsonl").exists()


def test_key_is_sent_but_never_written(tmp_path, served_dataset):
    with FakeChatServer() as server:
        teach(served_dataset, tmp_path / "d.jsonl", "labels-to-queries", server.url, "m",
              api_key="sk-secret-4242", sample=2, **FAST)  # fmt: skip
        assert server.auth == {"Bearer sk-secret-4242"}
    for path in tmp_path.iterdir():
        assert "sk-secret-4242" not in path.read_text(), path


def test_changed_settings_ask_again_and_out_holds_this_run_only(tmp_path, served_dataset):
    out = tmp_path / "d.jsonl"
    with FakeChatServer() as server:
        teach(served_dataset, out, "labels-to-queries", server.url, "m", sample=3, **FAST)
        bigger = teach(served_dataset, out, "labels-to-queries", server.url, "m", sample=5, **FAST)
        other = teach(served_dataset, out, "labels-to-queries", server.url, "m", sample=5, n=3,
                      **FAST)  # fmt: skip
    assert (bigger["cached"], bigger["asked"]) == (3, 2)  # a larger sample contains the smaller
    assert (other["cached"], other["asked"]) == (0, 5)  # n is part of the key
    assert len(_lines(out)) == 5 and len(read_records(tmp_path / "d.cache.jsonl")) == 10


def test_killed_run_resumes_asking_only_for_the_missing(tmp_path, served_dataset):
    from skim.data import save_dataset

    save_dataset(served_dataset, tmp_path / "ds")
    out = tmp_path / "demos.jsonl"
    script = textwrap.dedent(
        f"""
        import sys
        from skim.teach import teach
        teach({str(tmp_path / "ds")!r}, {str(out)!r}, "labels-to-queries", sys.argv[1], "m",
              concurrency=2, progress=False)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(Path(skim.__file__).parents[1])}
    with FakeChatServer(delay_s=0.15) as server:
        proc = subprocess.Popen([sys.executable, "-c", script, server.url], env=env)
        deadline = time.monotonic() + 60
        while len(server.answered()) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        first = set(server.asked())
    assert 3 <= len(first) < 8 and not out.exists()
    cache = tmp_path / "demos.cache.jsonl"
    done = {r["text"] for r in read_records(cache).values()}
    assert done and done <= set(server.answered())
    with open(cache, "a") as handle:  # a line torn by a crash mid-write
        handle.write('{"source": 9, "te')

    with FakeChatServer() as server:
        summary = teach(tmp_path / "ds", out, "labels-to-queries", server.url, "m", **FAST)
        assert sorted(server.asked()) == sorted(set(ITEMS) - done)
    assert summary["cached"] == len(done) and summary["failed"] == 0
    assert [r["source"] for r in _lines(out)] == list(range(8))
    assert len(read_records(cache)) == 8


def test_cli_teach_prints_summary_and_exits_by_outcome(tmp_path, served_dataset, capsys):
    from skim.data import save_dataset

    save_dataset(served_dataset, tmp_path / "ds")
    base = ["teach", str(tmp_path / "ds"), str(tmp_path / "d.jsonl"),
            "--direction", "labels-to-queries", "--model", "m", "--quiet", "--timeout", "2",
            "--max-retries", "0"]  # fmt: skip
    with FakeChatServer({"item-3": ["500"]}) as server:
        assert main([*base, "--endpoint", server.url, "--json"]) == 1
        captured = capsys.readouterr()
        summary = json.loads(captured.out)
        assert (summary["items"], summary["failed"]) == (8, 1)
        assert "1 items failed" in captured.err and "rerun the same command" in captured.err
        assert main([*base, "--endpoint", server.url]) == 0
        assert "asked: 1" in capsys.readouterr().out.replace("  ", "")
    assert main(base) == 2
    assert "needs --endpoint and --model" in capsys.readouterr().err


def test_a_broken_user_template_fails_before_any_request(tmp_path, served_dataset):
    template = tmp_path / "mine.j2"
    template.write_text("{{ text }} {{ url }}")
    with FakeChatServer() as server:
        with pytest.raises(SkimError, match="mine.j2, line 1: 'url' is undefined"):
            teach(served_dataset, tmp_path / "d.jsonl", "labels-to-queries", server.url, "m",
                  template=template, **FAST)  # fmt: skip
        assert server.asked() == []
    template.write_text("Queries for {{ text }}:\n{{ metadata }}\n")
    with FakeChatServer() as server:
        summary = teach(served_dataset, tmp_path / "d.jsonl", "labels-to-queries", server.url,
                        "m", template=template, sample=1, **FAST)  # fmt: skip
    (record,) = _lines(tmp_path / "d.jsonl")
    assert record["prompt"] == f"Queries for {record['text']}:\n{record['metadata']}\n"
    assert summary["template"] == str(template)
