"""Time and peak memory of ``skim datasets import`` on XC repository files of real sizes.

Writes two synthetic datasets of the published shapes into a temporary folder, then imports
each in a child process (peak memory from its rusage):

- bow: EURLex-4K's sizes (15,539 / 3,809 rows, 5,000 features, 3,993 labels, ~236 features
  and ~5 labels a row), written as pyxclib's ``write_data`` writes (header + sklearn's
  multilabel svmlight dump); sklearn's C reader (``load_svmlight_file``, what pyxclib's
  ``read_data`` calls) is timed on the same train file for comparison.
- json: LF-AmazonTitles-131K's sizes (294,805 / 134,835 records, 131,073 labels, ~2.3 labels
  a record, 8-word titles, empty content), gzipped JSON lines.

    python benchmarks/xc_import.py [--scale 1.0]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]


def _bow(folder: Path, scale: float, rng: np.random.Generator) -> None:
    from sklearn.datasets import dump_svmlight_file

    n_feat, n_lab = 5000, 3993
    for name, rows in (("train.txt", 15539), ("test.txt", 3809)):
        n = int(rows * scale)
        feats = sp.random(n, n_feat, density=236 / n_feat, format="csr", rng=rng)
        feats.data = np.round(feats.data, 4)
        labels = sp.random(n, n_lab, density=5 / n_lab, format="csr", rng=rng)
        labels.data[:] = 1
        path = folder / name
        path.write_text(f"{n} {n_feat} {n_lab}\n")
        with open(path, "ab") as handle:
            dump_svmlight_file(feats, labels, handle, multilabel=True, zero_based=True)
    texts = folder / "texts"
    texts.mkdir()
    for name, count in (("trn_X.txt", int(15539 * scale)), ("tst_X.txt", int(3809 * scale)),
                        ("Y.txt", n_lab)):  # fmt: skip
        (texts / name).write_text("".join(f"text {i}\n" for i in range(count)))


def _json(folder: Path, scale: float, rng: np.random.Generator) -> None:
    words = [f"w{i}" for i in range(20000)]
    n_lab = 131073

    def title() -> str:
        return " ".join(words[j] for j in rng.integers(0, len(words), 8))

    with gzip.open(folder / "lbl.json.gz", "wt") as handle:
        for i in range(n_lab):
            handle.write(json.dumps({"uid": f"L{i}", "title": title(), "content": ""}) + "\n")
    for name, rows in (("trn.json.gz", 294805), ("tst.json.gz", 134835)):
        with gzip.open(folder / name, "wt") as handle:
            for i in range(int(rows * scale)):
                targets = sorted({int(t) for t in rng.integers(0, n_lab, 1 + rng.poisson(1.3))})
                record = {"uid": f"{name[:3]}{i}", "title": title(), "content": "",
                          "target_ind": targets, "target_rel": [1.0] * len(targets)}  # fmt: skip
                handle.write(json.dumps(record) + "\n")


def _timed(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MB) of ``skim ARGV`` in a child process."""
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent through exec
    code = (
        "import sys, time\nfrom skim.cli import main\nt = time.perf_counter()\n"
        "assert main(sys.argv[1:]) == 0\nwall = time.perf_counter() - t\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
        "print(wall, int(hwm.split()[1]) / 1024)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    out = subprocess.run([sys.executable, "-c", code, *argv], check=True, env=env,
                         capture_output=True, text=True).stdout  # fmt: skip
    wall, peak = out.split()[-2:]
    return float(wall), float(peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="share of the rows (1.0)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for layout, write in (("bow", _bow), ("json", _json)):
            src = tmp / layout
            src.mkdir()
            write(src, args.scale, rng)
            size = sum(p.stat().st_size for p in src.iterdir() if p.is_file()) / 2**20
            cmd = ["datasets", "import", str(src), str(tmp / f"{layout}-out"), "--quiet"]
            if layout == "bow":
                cmd += ["--texts", str(src / "texts")]
            wall, peak = _timed(cmd)
            out = sum(p.stat().st_size for p in (tmp / f"{layout}-out").iterdir()) / 2**20
            print(f"{layout}: input {size:.1f} MB -> output {out:.1f} MB: import {wall:.1f} s, "
                  f"peak {peak:.0f} MB")  # fmt: skip
        code = (
            "import time, sys\nfrom sklearn.datasets import load_svmlight_file\n"
            "f = open(sys.argv[1], 'rb'); n, nf, nl = map(int, f.readline().split())\n"
            "t = time.perf_counter()\n"
            "load_svmlight_file(f, n_features=nf, multilabel=True, zero_based=True)\n"
            "print(f'{time.perf_counter() - t:.1f}')\n"
        )
        reader = ROOT / "src" / "skim" / "data" / "xcrepo.py"
        ours = (
            "import time, sys\nfrom skim.data.xcrepo import read_bow\n"
            "t = time.perf_counter(); read_bow(sys.argv[1])\n"
            "print(f'{time.perf_counter() - t:.1f}')\n"
        )
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
        for name, snippet in (("sklearn load_svmlight_file", code), (f"skim {reader.name}", ours)):
            seconds = subprocess.run(
                [sys.executable, "-c", snippet, str(tmp / "bow" / "train.txt")],
                check=True, env=env, capture_output=True, text=True,
            ).stdout.strip()  # fmt: skip
            print(f"bow train.txt read by {name}: {seconds} s")


if __name__ == "__main__":
    main()
