"""The README's Python snippet runs as written (on the food nouns: about 40 CPU seconds)."""

import re
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"


def _api_snippet() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"^## Python API\n.*?```python\n(.*?)```", text, re.S | re.M)
    assert match, "README.md has no python block under '## Python API'"
    return match.group(1)


def test_readme_python_snippet_runs_as_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SKIM_CACHE_DIR", str(tmp_path / "cache"))
    exec(compile(_api_snippet(), str(README), "exec"), {"__name__": "readme"})
    printed = capsys.readouterr().out
    assert re.search(r"^R@100\s+\d+\.\d+\s+\d+\.\d+$", printed, re.M)
    assert (tmp_path / "trn_X_Y_skim.npz").is_file() and (tmp_path / "models" / "dual").is_dir()
