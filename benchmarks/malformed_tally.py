"""Tally of the malformed-input corpus (``tests/test_malformed_inputs.py``) against a skim tree.

Runs every case of the corpus with ``PYTHONPATH`` set to ``--src`` (default: this checkout's
``src``; give an older checkout's ``src`` to measure before a fix) and sorts each into: clear
error (exit 2, one sentence naming the file and line or key), unclear error (exit 2, but the
sentence lacks the line, the key or the right reason, or output was left), traceback (an
exception escaped), silently accepted (exit 0), crash (the process died). Cases run in
batches of pytest processes; a batch that dies is rerun one case at a time.

    python benchmarks/malformed_tally.py [--src /path/to/old/src] [--json OUT]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST = "tests/test_malformed_inputs.py::test_malformed_input_is_one_sentence_and_exit_2"


def _kind(testcase: ET.Element) -> str:
    failure = testcase.find("failure")
    if failure is None:
        return "clear"
    message = failure.get("message", "")
    if message.startswith("AssertionError: (0,"):
        return "silent"
    return "unclear" if message.startswith("AssertionError") else "traceback"


def run_cases(ids: list[str], env: dict) -> dict[str, str] | None:
    """Kind of each case, or None when the pytest process died before writing its report."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.xml"
        args = [f"{TEST}[{case}]" for case in ids]
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args,
             f"--junitxml={report}"],
            cwd=ROOT, env=env, capture_output=True,
        )  # fmt: skip
        if not report.exists():
            return None
        cases = ET.parse(report).getroot().iter("testcase")
        return {tc.get("name").split("[", 1)[1][:-1]: _kind(tc) for tc in cases}


def case_ids() -> list[str]:
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--collect-only", TEST],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return [line.split("[", 1)[1][:-1] for line in out.splitlines() if line.startswith(TEST)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", default=str(ROOT / "src"), help="the skim source tree to test")
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--json", help="also write the kinds of every case here")
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(args.src).resolve()), str(ROOT)]))
    ids = case_ids()
    kinds: dict[str, str] = {}
    for start in range(0, len(ids), args.batch):
        batch = ids[start : start + args.batch]
        found = run_cases(batch, env)
        if found is None:  # a case killed the process: find it
            found = {}
            for case in batch:
                found.update(run_cases([case], env) or {case: "crash"})
        kinds.update(found)
    tally = collections.Counter(kinds.values())
    summary = {"src": args.src, "inputs": len(kinds), **dict(sorted(tally.items()))}
    summary["not clear"] = {k: sorted(c for c, v in kinds.items() if v == k) for k in tally}
    summary["not clear"].pop("clear", None)
    print(json.dumps(summary, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "cases": kinds}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
