import json

import pytest

from skim.stage import run_stage


def _writer(path, calls, text="x"):
    def fn():
        calls.append(1)
        path.write_text(text)

    return fn


def test_second_run_with_same_inputs_is_skipped(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("a")
    out, calls = tmp_path / "out.txt", []
    assert run_stage(
        tmp_path, "s", _writer(out, calls), [out], [src], {"tau": 0.8}, log=lambda m: None
    )
    assert not run_stage(
        tmp_path, "s", _writer(out, calls), [out], [src], {"tau": 0.8}, log=lambda m: None
    )
    assert len(calls) == 1
    stamp = json.loads((tmp_path / ".skim-stages" / "s.json").read_text())
    assert stamp["settings"] == {"tau": 0.8} and stamp["seconds"] >= 0


@pytest.mark.parametrize("change", ["input", "settings", "output"])
def test_a_changed_input_setting_or_missing_output_reruns(tmp_path, change):
    src = tmp_path / "in"
    src.mkdir()
    (src / "f.txt").write_text("a")
    out, calls = tmp_path / "out.txt", []
    run_stage(tmp_path, "s", _writer(out, calls), [out], [src], {"tau": 0.8}, log=lambda m: None)
    settings = {"tau": 0.8}
    if change == "input":
        (src / "f.txt").write_text("b")  # a file inside an input folder changed
    elif change == "settings":
        settings = {"tau": 0.9}
    else:
        out.unlink()
    assert run_stage(tmp_path, "s", _writer(out, calls), [out], [src], settings, log=lambda m: None)
    assert len(calls) == 2


def test_an_interrupted_stage_runs_again(tmp_path):
    out = tmp_path / "out.txt"

    def crash():
        out.write_text("partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_stage(tmp_path, "s", crash, [out], log=lambda m: None)
    calls = []
    assert run_stage(tmp_path, "s", _writer(out, calls), [out], log=lambda m: None)
    assert calls == [1] and out.read_text() == "x"


def test_a_stage_that_writes_nothing_is_an_error(tmp_path):
    with pytest.raises(RuntimeError, match="without writing"):
        run_stage(tmp_path, "s", lambda: None, [tmp_path / "never"], log=lambda m: None)
    assert not (tmp_path / ".skim-stages" / "s.json").exists()
