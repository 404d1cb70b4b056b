"""Tally how ``skim`` answers the malformed settings of ``tests/test_malformed_settings.py``.

Each case runs as a real ``python -m skim`` process against the package in ``--src`` (this
tree's ``src`` by default, or an older checkout's, to compare before and after a change), in a
fresh folder, and is classed as:

``clear``     exit 2, one line naming what the case says it must name, nothing written
``unnamed``   exit 2 and one line, nothing written, but the line does not name the file/key
``late``      an error, but only after outputs (or temporary files) were written
``traceback`` a Python traceback on stderr
``accepted``  the bad value was taken: exit 0, or still running after ``--timeout`` seconds
``other``     anything else (e.g. a usage block instead of one line)

Usage::

    python benchmarks/reliability_settings.py [--src DIR] [--timeout S] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.test_malformed_settings import CASES, Case, _tree, prepare  # noqa: E402


def classify(case: Case, src: Path, timeout: float) -> tuple[str, str]:
    """(class, first line of stderr) of one case run against the package in ``src``."""
    with tempfile.TemporaryDirectory(prefix="skim-reliability-") as folder:
        tmp = Path(folder)
        argv = prepare(tmp, case)
        before = _tree(tmp)
        env = {**os.environ, "PYTHONPATH": str(src)}
        try:
            done = subprocess.run(
                [sys.executable, "-m", "skim", *argv],
                capture_output=True,
                text=True,
                timeout=timeout,
                env=env,
                cwd=tmp,
            )
        except subprocess.TimeoutExpired:
            return "accepted", f"still running after {timeout:g} s"
        err = done.stderr
        last = err.strip().splitlines()[-1] if err.strip() else ""
        if "Traceback" in err:
            return "traceback", last
        if done.returncode == 0:
            return "accepted", "exit 0"
        if _tree(tmp) != before:
            return "late", f"exit {done.returncode}: {last}"
        named = all(part.replace("{tmp}", str(tmp)) in err for part in case.says)
        one_line = err.count("\n") == 1 and err.startswith("skim ")
        if done.returncode == 2 and one_line:
            return ("clear" if named else "unnamed"), last
        return "other", f"exit {done.returncode}: {last}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="package tree to run")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per case (60)")
    parser.add_argument("--json", type=Path, help="also write every case's class here")
    args = parser.parse_args()
    rows = []
    for case in CASES:
        kind, line = classify(case, args.src.resolve(), args.timeout)
        rows.append({"case": case.name, "class": kind, "stderr": line})
        print(f"{kind:>9}  {case.name:<36} {line[:110]}", flush=True)
    counts = Counter(row["class"] for row in rows)
    print(f"\n{len(rows)} inputs: " + ", ".join(f"{k} {counts.get(k, 0)}" for k in (
        "clear", "unnamed", "late", "traceback", "accepted", "other")))  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"counts": counts, "cases": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
