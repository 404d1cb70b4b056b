"""Measure the teacher stage: client overhead against a loopback endpoint, resume, gold seed.

    PYTHONPATH=src python benchmarks/teach.py [--items 400] [--latency 0.2] [--concurrency 16]

(a) ``teach`` on ``--items`` labels against the tests' fake OpenAI-compatible server, which
answers every request after ``--latency`` seconds (a stand-in for an LLM): achieved items/s
against the ideal ``concurrency / latency``, end to end (client set-up and the SDK's lazy
imports included) and steady (request arrivals at the server). The ``openai`` import
itself (seconds on a busy machine) is timed apart. Metadata of 1,000 words per label is truncated
to 750 tokens (word approximation).
(b) The same call again: everything is cached, nothing is asked (the resume path).
(c) ``gold_teacher`` with a 2% seed on a random dataset of the WordNet benchmark's size
(65,692 train queries, 17,157 labels, 6 complete / 3 observed labels per query).
Writes the numbers to ``--out`` (default benchmarks/results/teach.json).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "teach"))

from fake_openai import FakeChatServer  # noqa: E402

from skim.data import Dataset  # noqa: E402
from skim.teach import gold_teacher, teach  # noqa: E402


def _served(n_labels: int, rng: np.random.Generator) -> Dataset:
    vocab = np.array([f"w{k}" for k in range(5000)])
    observed = sp.random(50, n_labels, density=0.05, random_state=0, format="csr", dtype=np.float32)
    observed.data[:] = 1
    return Dataset(
        trn_texts=[f"query {k}" for k in range(50)],
        tst_texts=["t"],
        label_texts=[f"item-{k}" for k in range(n_labels)],
        trn_X_Y=observed,
        tst_X_Y=sp.csr_matrix((1, n_labels), dtype=np.float32),
        label_meta=[" ".join(rng.choice(vocab, 1000)) for _ in range(n_labels)],
    )


def _random_labels(n: int, n_labels: int, per_row: int, rng: np.random.Generator) -> sp.csr_matrix:
    cols = rng.integers(0, n_labels, size=(n, per_row)).ravel()
    rows = np.repeat(np.arange(n), per_row)
    m = sp.csr_matrix((np.ones(len(cols), np.float32), (rows, cols)), shape=(n, n_labels))
    m.data[:] = 1
    return m


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=400)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "teach.json"))
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    start = time.monotonic()
    import openai  # noqa: F401 - a one-time cost (seconds), measured apart from the runs

    import_s = round(time.monotonic() - start, 3)
    results: dict = {"machine": f"{platform.processor() or platform.machine()}, Python "
                     f"{platform.python_version()}", "settings": vars(args)}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        dataset = _served(args.items, rng)
        out = Path(tmp) / "demos.jsonl"
        with FakeChatServer(delay_s=args.latency) as server:
            first = teach(dataset, out, "labels-to-queries", server.url, "bench",
                          concurrency=args.concurrency, progress=False)  # fmt: skip
            arrivals = sorted(t for t, _, _ in server.log)
            again = teach(dataset, out, "labels-to-queries", server.url, "bench",
                          concurrency=args.concurrency, progress=False)  # fmt: skip
        steady = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
        ideal = args.concurrency / args.latency
        results["llm_teacher"] = {
            "openai_import_s": import_s,
            "items": first["items"],
            "elapsed_s": first["elapsed_s"],
            "items_per_s": round(first["items"] / first["elapsed_s"], 1),
            "ideal_items_per_s": ideal,
            "efficiency": round(first["items"] / first["elapsed_s"] / ideal, 3),
            "steady_items_per_s": round(steady, 1),
            "steady_efficiency": round(steady / ideal, 3),
            "failed": first["failed"],
        }
        results["resume_all_cached"] = {"asked": again["asked"], "elapsed_s": again["elapsed_s"]}

        n, n_labels = 65_692, 17_157
        complete = _random_labels(n, n_labels, 6, rng)
        # observe a random half of the complete pairs
        mask = rng.random(complete.nnz) < 0.5
        obs = complete.copy()
        obs.data = np.where(mask, 1.0, 0.0).astype(np.float32)
        obs.eliminate_zeros()
        big = Dataset(
            trn_texts=[f"query {k}" for k in range(n)],
            tst_texts=["t"],
            label_texts=[f"label {k}" for k in range(n_labels)],
            trn_X_Y=obs,
            tst_X_Y=sp.csr_matrix((1, n_labels), dtype=np.float32),
            trn_X_Y_unbiased=complete,
            trn_meta=[f"gloss of query {k}" for k in range(n)],
        )
        start = time.monotonic()
        gold = gold_teacher(big, Path(tmp) / "gold.jsonl", "queries-to-labels", 0.02)
        results["gold_teacher"] = {
            "train_queries": n,
            "labels": n_labels,
            "seed_count": gold["seed_count"],
            "records": gold["records"],
            "pairs_added": gold["pairs_added"],
            "elapsed_s": round(time.monotonic() - start, 3),
        }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
