"""Crash recovery of ``skim run``: kill -9 at random moments, rerun, compare with a clean run.

Runs ``skim run`` on a quick config (by default the quick demo's: WordNet noun.food and
noun.plant, extractive generator), uninterrupted, twice: the reference, and a clean rerun in
another folder that times a run with a warm embedding cache and shows what equal runs share.
Then, until ``--kills`` runs were killed, it starts a run in a fresh folder, sends SIGKILL to
its whole process group at a random moment of that span (a run that ends first is compared
too, and a new moment drawn), reruns it to completion and compares every output file with the
reference. Data files (matrices, texts, models, metrics, the figure) must be byte for
byte identical; JSON and markdown files must be equal once the output folder's path and the
fields that record when or how fast something ran are taken out. Prints a JSON summary.

    python benchmarks/kill_rerun.py --work /tmp/kill-rerun --kills 10
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SKIM = (sys.executable, "-m", "skim")
VOLATILE = re.compile(r"seconds|elapsed|per_second|^timings|^created$|_this_run$")
"""JSON keys that hold dates, durations, or how much of the work this very run did (a resumed
generation counts only the items it added): the only fields in which equal outputs differ."""
STAMP_VOLATILE = re.compile(r"^key$")
"""Stage stamps also hold a hash of their inputs, which include the output folder's path."""


def toml_text(config: dict[str, dict[str, Any]]) -> str:
    """A config of tables (strings, numbers, bools, lists, flat dicts) as TOML."""

    def value(v: Any) -> str:
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + "}"
        return json.dumps(v)  # strings, numbers, true/false and lists read the same in TOML

    lines = []
    for table, entries in config.items():
        lines += [f"[{table}]", *(f"{k} = {value(v)}" for k, v in entries.items()), ""]
    return "\n".join(lines)


def quick_config(path: Path, lexfiles: list[str] | None = None) -> Path:
    """Write the quick demo's ``skim run`` config (or other WordNet lexfiles) to ``path``."""
    from skim.demo import demo_config

    raw = demo_config("unused", quick=True)
    del raw["run"]["out"]  # each run gets --out
    if lexfiles:
        raw["dataset"]["lexfiles"] = lexfiles
    path.write_text(toml_text(raw), encoding="utf-8")
    return path


def start_run(launcher: Sequence[str], config: Path, out: Path, env: dict) -> subprocess.Popen:
    """Start ``LAUNCHER run CONFIG --out OUT`` in its own process group (killed as a whole)."""
    return subprocess.Popen(
        [*launcher, "run", str(config), "--out", str(out)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def run_to_end(launcher: Sequence[str], config: Path, out: Path, env: dict) -> float:
    """Run to completion; return the wall seconds. A failed run raises with its stderr."""
    start = time.perf_counter()
    proc = start_run(launcher, config, out, env)
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"run into {out} exited {proc.returncode}: {err.decode()[-2000:]}")
    return time.perf_counter() - start


def kill_after(launcher: Sequence[str], config: Path, out: Path, env: dict, after: float) -> bool:
    """Start a run, SIGKILL its process group after ``after`` s; False if it ended before."""
    proc = start_run(launcher, config, out, env)
    try:
        proc.communicate(timeout=after)
        return False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return True


def _strip(obj: Any, volatile: re.Pattern) -> Any:
    if isinstance(obj, dict):
        return {k: _strip(v, volatile) for k, v in obj.items() if not volatile.search(k)}
    if isinstance(obj, list):
        return [_strip(v, volatile) for v in obj]
    return obj


def _normalised(path: Path, root: Path) -> Any:
    text = path.read_text(encoding="utf-8").replace(str(root), "<out>")
    if path.suffix != ".json":
        return text
    obj = _strip(json.loads(text), VOLATILE)
    return _strip(obj, STAMP_VOLATILE) if path.parent.name == ".skim-stages" else obj


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def compare_outputs(reference: Path, other: Path) -> dict[str, list[str]]:
    """Relative paths ``missing``, ``extra`` or ``different`` in ``other``, and how the equal
    ones are equal: ``byte_identical`` or ``equal_without_timings`` (JSON and markdown)."""
    ref, got = _files(reference), _files(other)
    result: dict[str, list[str]] = {
        "missing": sorted(ref - got),
        "extra": sorted(got - ref),
        "different": [],
        "byte_identical": [],
        "equal_without_timings": [],
    }
    for name in sorted(ref & got):
        a, b = reference / name, other / name
        if filecmp.cmp(a, b, shallow=False):
            result["byte_identical"].append(name)
        elif a.suffix in (".json", ".md") and _normalised(a, reference) == _normalised(b, other):
            result["equal_without_timings"].append(name)
        else:
            result["different"].append(name)
    return result


def identical(diff: dict[str, list[str]]) -> bool:
    return not (diff["missing"] or diff["extra"] or diff["different"])


def kill_rerun(
    work: Path,
    config: Path,
    kills: int,
    seed: int = 0,
    launcher: Sequence[str] = SKIM,
    env: dict | None = None,
    clean_rerun: bool = True,
) -> dict[str, Any]:
    """The experiment of the module docstring, in ``work``; returns its summary.

    ``clean_rerun=False`` skips the second uninterrupted run (kill moments then scale with
    the reference run's time), for a quicker check.
    """
    env = dict(env or os.environ)
    env.setdefault("SKIM_CACHE_DIR", str(work / "cache"))
    started = time.perf_counter()
    t_ref = t_clean = run_to_end(launcher, config, work / "reference", env)
    if clean_rerun:
        t_clean = run_to_end(launcher, config, work / "clean", env)
    clean = compare_outputs(work / "reference", work / ("clean" if clean_rerun else "reference"))
    rng = random.Random(seed)
    runs: list[dict[str, Any]] = []
    while sum(r["killed"] for r in runs) < kills and len(runs) < 3 * kills:
        out = work / f"kill-{len(runs)}"
        after = rng.uniform(0.02, 0.98) * t_clean  # a run that ends first gets a new moment
        killed = kill_after(launcher, config, out, env, after)
        stamps = out / ".skim-stages"
        done = sorted(p.stem for p in stamps.glob("*.json")) if stamps.is_dir() else []
        t_rerun = run_to_end(launcher, config, out, env)
        diff = compare_outputs(work / "reference", out)
        runs.append(
            {
                "kill_after_s": round(after, 2),
                "killed": killed,
                "stages_done_at_kill": done,
                "rerun_s": round(t_rerun, 1),
                "identical": identical(diff),
                **{k: diff[k] for k in ("missing", "extra", "different") if diff[k]},
            }
        )
    return {
        "config": str(config),
        "reference_s": round(t_ref, 1),
        "clean_rerun_s": round(t_clean, 1) if clean_rerun else None,
        "clean_rerun_identical": identical(clean) if clean_rerun else None,
        "byte_identical_files": clean["byte_identical"],
        "equal_without_timings": clean["equal_without_timings"],
        "kills": sum(r["killed"] for r in runs),
        "runs_compared": len(runs),
        "identical_after_rerun": sum(r["identical"] for r in runs),
        "runs": runs,
        "total_s": round(time.perf_counter() - started, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", required=True, help="scratch folder (emptied first)")
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill moments")
    parser.add_argument("--config", help="a skim run TOML (default: the quick demo's)")
    parser.add_argument("--lexfiles", nargs="+", help="WordNet lexfiles of the default config")
    parser.add_argument("--json", help="also write the summary here")
    args = parser.parse_args()
    work = Path(args.work).resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    config = Path(args.config) if args.config else quick_config(work / "quick.toml", args.lexfiles)
    summary = kill_rerun(work, config.resolve(), args.kills, args.seed)
    text = json.dumps(summary, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    ok = summary["kills"] == args.kills and summary["identical_after_rerun"] == len(summary["runs"])
    ok = ok and summary["clean_rerun_identical"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
