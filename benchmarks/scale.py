"""Benchmark of SKIM step 2 as the work grows, in one process and on Ray (issue 15).

Simulated data: d=384 unit vectors. Targets are random; synthetic text i is a noisy copy of a
random target (cosine 0.8, score 0.9, about one hit per text above the floor 0.8), and
``SimEncoder`` looks the vectors up by text ("t12", "q7"), so the runs go through the real
``propose_pairs`` (embedding cache, index, search, reduction) in both modes, with the model's
cost left out of the measured encode time. The model's cost is measured apart: all-MiniLM-L6-v2
on a sample of real label-like texts, seconds per text, extrapolated to every point.

Measured points (each in a fresh process, for its peak RSS): 10K and 100K texts against 100K
targets, exact and hnsw, one process and a 2-actor local Ray cluster, as far as the wall
budget allows; the reduction alone at 10K, 100K and 1M texts. Every other point of the table
(1M texts, 1M targets) is extrapolated from measured growth: search and encode linear in
texts; exact search linear in targets; hnsw build n log n and hnsw search log n in targets;
reduction linear in hits. The hnsw graph is lighter than skim's default (M 16,
ef_construction 100, ef 32 instead of 32 / 200 / 64) so that the 100K graph builds within the
budget on 2 shared cores.

Usage: PYTHONPATH=src nice -n 5 python benchmarks/scale.py --budget 900 --out results/scale.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

DIM = 384
SIGMA = 0.75  # noise norm of a synthetic text around its target: cosine 1 / sqrt(1 + s^2) = 0.8
FLOOR = 0.8
TOPK = 10
TEXTS_PER_SOURCE = 10
HNSW = {"M": 16, "ef_construction": 100, "ef": 32}
SIZES_TEXTS = (10_000, 100_000, 1_000_000)
SIZES_TARGETS = (100_000, 1_000_000)


class SimEncoder:
    """Vectors by text: ``t{j}`` is target j, ``q{i}`` synthetic text i; no model."""

    id = "sim-384"

    def __init__(self, n_targets: int, n_texts: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.targets = _unit(rng.standard_normal((n_targets, DIM), dtype=np.float32))
        near = rng.integers(0, n_targets, n_texts)
        noise = rng.standard_normal((n_texts, DIM), dtype=np.float32) * (SIGMA / math.sqrt(DIM))
        self.texts = _unit(self.targets[near] + noise)

    def encode(self, texts: list[str]) -> np.ndarray:
        rows = np.fromiter((int(t[1:]) for t in texts), np.int64, len(texts))
        is_target = np.fromiter((t[0] == "t" for t in texts), bool, len(texts))
        out = np.empty((len(texts), DIM), np.float32)
        out[is_target] = self.targets[rows[is_target]]
        out[~is_target] = self.texts[rows[~is_target]]
        return out


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_point(n_texts: int, n_targets: int, index: str, mode: str) -> dict:
    """One mapping pass through ``propose_pairs``; runs in its own process."""
    from skim.data import Dataset
    from skim.map.mapping import propose_pairs

    n_sources = n_texts // TEXTS_PER_SOURCE
    data = Dataset(
        trn_texts=[f"s{i}" for i in range(n_sources)], tst_texts=["x"],
        label_texts=[f"t{j}" for j in range(n_targets)],
        trn_X_Y=sp.csr_matrix((n_sources, n_targets), dtype=np.float32),
        tst_X_Y=sp.csr_matrix((1, n_targets), dtype=np.float32),
    )  # fmt: skip
    encoder = SimEncoder(n_targets, n_texts)
    ray, ray_init = None, 0.0
    with tempfile.TemporaryDirectory(prefix="skim-scale-") as tmp:
        synthetic = Path(tmp) / "synthetic.jsonl"
        with open(synthetic, "w") as handle:
            for s in range(n_sources):
                texts = [f"q{i}" for i in range(s * TEXTS_PER_SOURCE, (s + 1) * TEXTS_PER_SOURCE)]
                handle.write(json.dumps({"source": s, "texts": texts}) + "\n")
        if mode == "ray":
            import ray as ray_module

            from skim.scale.cluster import RayOptions

            t0 = time.perf_counter()
            ray_module.init(num_cpus=2, include_dashboard=False, logging_level="ERROR",
                            log_to_driver=False)  # fmt: skip
            ray_init = time.perf_counter() - t0
            ray = RayOptions(actors=2)
        params = dict(HNSW) if index == "hnsw" else {}
        t0 = time.perf_counter()
        proposal = propose_pairs(
            data, synthetic, "queries-to-labels", encoder=encoder, index=index, topk=TOPK,
            floor=FLOOR, cache_dir=Path(tmp) / "cache", index_params=params, ray=ray,
        )  # fmt: skip
        wall = time.perf_counter() - t0
    return {
        "texts": n_texts, "targets": n_targets, "index": index, "mode": mode,
        "wall_s": round(wall, 2), "ray_init_s": round(ray_init, 2),
        "timings_s": {k: round(v, 2) for k, v in proposal.timings.items()},
        "pairs": int(proposal.scores.nnz), "peak_rss_mb": round(_peak_mb()),
    }  # fmt: skip


def run_reduce(n_texts: int) -> dict:
    """The reduction alone (hits_to_pairs + PairAccumulator) over simulated top-k hits."""
    from skim.map.pairs import PairAccumulator, cosine_to_score, hits_to_pairs

    rng = np.random.default_rng(1)
    n_sources, n_targets, chunk = n_texts // TEXTS_PER_SOURCE, 1_000_000, 32_768
    acc = PairAccumulator((n_sources, n_targets))
    spent = 0.0
    for start in range(0, n_texts, chunk):
        n = min(chunk, n_texts - start)
        sources = np.arange(start, start + n) // TEXTS_PER_SOURCE
        cosines = rng.uniform(-0.1, 0.5, (n, TOPK)).astype(np.float32)
        cosines[:, 0] = 0.8  # the one true neighbour of each text: a hit
        cosines = -np.sort(-cosines, axis=1)
        ids = rng.integers(0, n_targets, (n, TOPK))
        t0 = time.perf_counter()
        rows, cols, values = hits_to_pairs(sources, cosine_to_score(cosines), ids, FLOOR,
                                           "queries-to-labels")  # fmt: skip
        acc.add(rows, cols, values)
        spent += time.perf_counter() - t0
    t0 = time.perf_counter()
    nnz = acc.matrix().nnz
    spent += time.perf_counter() - t0
    return {"texts": n_texts, "reduce_s": round(spent, 3), "pairs": int(nnz),
            "peak_rss_mb": round(_peak_mb())}  # fmt: skip


def encoder_seconds_per_text(n: int = 256) -> float:
    """all-MiniLM-L6-v2 on ``n`` label-like texts (2-5 words) in this process: s per text."""
    from skim.encode import SentenceEncoder

    enc = SentenceEncoder(show_progress=False)
    rng = np.random.default_rng(2)
    words = "acid heredity segment dog canine vehicle tree organism plant motor wild".split()
    texts = [" ".join(rng.choice(words, int(rng.integers(2, 6)))) + f" {i}" for i in range(n)]
    enc.encode(texts[:32])  # warm up
    t0 = time.perf_counter()
    enc.encode(texts)
    return (time.perf_counter() - t0) / n


def _child(kind: str, *args) -> dict:
    """Run one measurement in a fresh process (its own peak RSS); {} if it failed."""
    cmd = [sys.executable, __file__, "--child", json.dumps([kind, *args])]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"{kind} {args} failed: {done.stderr[-1500:]}", file=sys.stderr)
        return {}
    return json.loads(done.stdout.strip().splitlines()[-1])


def extrapolate(measured: list[dict], reduces: list[dict], s_per_text: float) -> list[dict]:
    """Every (texts, targets) point of the table in one process, from the measurements.

    From the largest measured one-process point of each index: encode = the model's seconds
    per text (``s_per_text``, measured apart) x (texts + targets) + the measured cache and
    hashing cost per text; exact search per query-target pair; hnsw build per n log n and
    search per query x log n; reduce per text (measured alone). Peak memory: the measured peak
    plus the growth of target vectors, graph and pairs (:func:`_memory_mb`).
    """
    reduce_per_text = max(reduces, key=lambda r: r["texts"])["reduce_s"] / max(
        r["texts"] for r in reduces
    )
    out = []
    for index in ("exact", "hnsw"):
        ones = [m for m in measured if m["index"] == index and m["mode"] == "one"]
        if not ones:
            continue
        base = max(reversed(ones), key=lambda m: m["texts"])  # the latest of the largest
        t, q, n_t = base["timings_s"], base["texts"], base["targets"]
        for n_targets in SIZES_TARGETS:
            for n_texts in SIZES_TEXTS:
                if index == "exact":
                    build, search = 0.0, t["search"] * n_texts * n_targets / (q * n_t)
                else:
                    growth = (n_targets * math.log(n_targets)) / (n_t * math.log(n_t))
                    build = t["build_index"] * growth
                    search = t["search"] * n_texts * math.log(n_targets) / (q * math.log(n_t))
                model = s_per_text * (n_texts + n_targets)
                cache = t["encode_synthetic"] * n_texts / q + t["encode_targets"] * n_targets / n_t
                reduce = reduce_per_text * n_texts
                total = model + cache + build + search + reduce
                here = {
                    m["mode"]: m for m in measured
                    if (m["index"], m["texts"], m["targets"]) == (index, n_texts, n_targets)
                }  # fmt: skip
                memory = (
                    base["peak_rss_mb"]
                    + _memory_mb(index, n_texts, n_targets)
                    - _memory_mb(index, q, n_t)
                )
                out.append({
                    "index": index, "texts": n_texts, "targets": n_targets,
                    "encode_model_s": round(model), "encode_cache_s": round(cache, 1),
                    "build_s": round(build), "search_s": round(search),
                    "reduce_s": round(reduce, 2), "total_one_s": round(total),
                    "share_encode": round((model + cache) / total, 3),
                    "share_build": round(build / total, 3),
                    "share_search": round(search / total, 3),
                    "share_reduce": round(reduce / total, 4),
                    "peak_mb": here["one"]["peak_rss_mb"] if "one" in here else round(memory),
                    "measured_wall_s": {k: m["wall_s"] for k, m in sorted(here.items())},
                })  # fmt: skip
    return out


def _memory_mb(index: str, n_texts: int, n_targets: int) -> float:
    """Memory that grows with the sizes: target vectors (the array and the index's copy), the
    hnswlib graph (M*2 level-0 links + label per target) and the pairs (key + score)."""
    vectors = 2 * n_targets * DIM * 4
    graph = n_targets * (HNSW["M"] * 2 * 4 + 8 + 4) if index == "hnsw" else 0
    return (vectors + graph + n_texts * 16) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=float, default=900, help="wall seconds for it all")
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument(
        "--table-from", metavar="JSON", help="recompute the table of a report, measuring nothing"
    )
    parser.add_argument(
        "--points", nargs="*", default=[], help="with --table-from: files of more measured points"
    )
    args = parser.parse_args()
    if args.table_from:
        report = json.loads(Path(args.table_from).read_text())
        for path in args.points:
            lines = Path(path).read_text().strip().splitlines()
            report["measured"].append(json.loads(lines[-1]))
        report["table"] = extrapolate(
            report["measured"], report["reduce"], report["minilm_s_per_text"]
        )
        Path(args.out or args.table_from).write_text(json.dumps(report, indent=1) + "\n")
        print(json.dumps(report["table"], indent=1))
        return
    if args.child:
        kind, *rest = json.loads(args.child)
        result = (
            {"point": run_point, "reduce": run_reduce}[kind](*rest)
            if kind != "encoder"
            else {"s_per_text": encoder_seconds_per_text()}
        )
        print(json.dumps(result))
        return
    started = time.perf_counter()
    load = os.getloadavg()
    s_per_text = _child("encoder").get("s_per_text", float("nan"))
    print(f"MiniLM: {s_per_text * 1e3:.2f} ms per text", flush=True)
    reduces = [r for n in SIZES_TEXTS if (r := _child("reduce", n))]
    print(json.dumps(reduces), flush=True)
    measured = []
    plan = [
        (10_000, 100_000, "exact", "one"), (10_000, 100_000, "exact", "ray"),
        (10_000, 100_000, "hnsw", "one"), (10_000, 100_000, "hnsw", "ray"),
        (100_000, 100_000, "hnsw", "one"), (100_000, 100_000, "hnsw", "ray"),
    ]  # fmt: skip
    for point in plan:
        spent = time.perf_counter() - started
        similar = [m["wall_s"] + m["ray_init_s"] for m in measured if m["texts"] == point[0]]
        guess = (max(similar) if similar else 60) * (1 if point[0] == 10_000 else 3)
        if spent + guess > args.budget:
            print(f"skipped {point}: {spent:.0f} s spent, ~{guess:.0f} s more", flush=True)
            continue
        result = _child("point", *point)
        if result:
            measured.append(result)
            print(json.dumps(result), flush=True)
    table = extrapolate(measured, reduces, s_per_text)
    report = {
        "load_at_start": [round(x, 2) for x in load], "load_at_end": list(os.getloadavg()),
        "cpus": os.cpu_count(), "wall_s": round(time.perf_counter() - started),
        "minilm_s_per_text": s_per_text, "hnsw": HNSW, "reduce": reduces,
        "measured": measured, "table": table,
    }  # fmt: skip
    print(json.dumps(report, indent=1))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
