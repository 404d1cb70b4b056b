"""Benchmark of SKIM step 2 (issue 4): hnswlib vs exact search, vectorised vs looped aggregation.

Data: clustered random unit vectors (d=384 by default). Targets are noisy copies of random
cluster centres (same-cluster cosine ~0.67, i.e. score ~0.83, so a synthetic text near a
cluster has several neighbours above tau, as in real data); each synthetic text is a noisy copy
of a random target with cosine spread over 0.55-0.96.

Measures
1. Exact (torch) search and hnswlib build and search times over the same synthetic texts,
   for several search ``ef``.
2. Recall of the kept pairs: of the (text, target) hits with score >= tau under exact search,
   the share hnswlib also returns; and the same for the aggregated (query, label) pairs.
3. Building the output matrix from the hits: ``hits_to_pairs`` + ``PairAccumulator`` (what
   ``skim map`` runs) vs a Python loop over each source's texts and neighbours doing the same
   max aggregation (the hits of the hnsw search, tiled to ``--agg-texts`` texts).

Times are wall-clock and CPU seconds of this process (the machine may be shared; CPU time is
the steadier measure for single-threaded numpy and Python work).

Usage: PYTHONPATH=src python benchmarks/map.py --targets 50000 --texts 50000
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np
import scipy.sparse as sp

from skim.index import ExactIndex, HnswIndex
from skim.map.pairs import PairAccumulator, cosine_to_score, hits_to_pairs


def unit_rows(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    v = rng.standard_normal((n, d), dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v


def make_data(n_targets: int, n_texts: int, d: int, seed: int = 0):
    """Targets, synthetic-text vectors and the source (a label id) of each text."""
    rng = np.random.default_rng(seed)
    centres = unit_rows(rng, max(1, n_targets // 10), d)
    targets = np.empty((n_targets, d), np.float32)
    texts = np.empty((n_texts, d), np.float32)
    step = 100_000
    for i in range(0, n_targets, step):
        n = min(step, n_targets - i)
        t = centres[rng.integers(0, len(centres), n)] + 0.7 * unit_rows(rng, n, d)
        targets[i : i + n] = t / np.linalg.norm(t, axis=1, keepdims=True)
    for i in range(0, n_texts, step):
        n = min(step, n_texts - i)
        gamma = rng.uniform(0.3, 1.5, (n, 1)).astype(np.float32)
        s = targets[rng.integers(0, n_targets, n)] + gamma * unit_rows(rng, n, d)
        texts[i : i + n] = s / np.linalg.norm(s, axis=1, keepdims=True)
    n_labels = max(1, n_texts // 5)  # ~5 synthetic texts per source label
    sources = rng.integers(0, n_labels, n_texts)
    return targets, texts, sources, n_labels


def search_chunks(index, queries: np.ndarray, k: int, chunk: int = 32_768):
    scores = np.empty((len(queries), k), np.float32)
    ids = np.empty((len(queries), k), np.int64)
    for i in range(0, len(queries), chunk):
        s, j = index.search(queries[i : i + chunk], k)
        scores[i : i + chunk], ids[i : i + chunk] = cosine_to_score(s), j
    return scores, ids


def vectorised_matrix(sources, scores, ids, tau, shape, chunk: int = 32_768) -> sp.csr_matrix:
    acc = PairAccumulator(shape)
    for i in range(0, len(sources), chunk):
        sl = slice(i, i + chunk)
        acc.add(*hits_to_pairs(sources[sl], scores[sl], ids[sl], tau, "labels-to-queries"))
    return acc.matrix()


def looped_matrix(sources, scores, ids, tau, shape) -> sp.csr_matrix:
    """The straightforward version: a Python loop over texts and their neighbours."""
    best: dict[tuple[int, int], float] = {}
    for source, row_scores, row_ids in zip(
        sources.tolist(), scores.tolist(), ids.tolist(), strict=True
    ):
        for score, target in zip(row_scores, row_ids, strict=True):
            if score >= tau:
                key = (target, source)
                if score > best.get(key, -1.0):
                    best[key] = score
    if not best:
        return sp.csr_matrix(shape, dtype=np.float32)
    rows, cols = zip(*best.keys(), strict=True)
    return sp.csr_matrix(
        (np.fromiter(best.values(), np.float32), (rows, cols)), shape=shape, dtype=np.float32
    )


def kept_recall(exact_scores, exact_ids, approx_ids, tau) -> float:
    """Share of the exact hits with score >= tau that the approximate search also returned."""
    found = total = 0
    for es, ei, ai in zip(exact_scores, exact_ids, approx_ids, strict=True):
        want = ei[es >= np.float32(tau)]
        total += len(want)
        found += len(np.intersect1d(want, ai, assume_unique=True))
    return found / total if total else float("nan")


def timed(fn, *args):
    """(result, wall seconds, CPU seconds of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", type=int, default=50_000)
    ap.add_argument("--texts", type=int, default=50_000, help="texts searched by every index")
    ap.add_argument("--agg-texts", type=int, default=1_000_000, help="texts for aggregation")
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--topk", type=int, default=10)
    ap.add_argument("--tau", type=float, default=0.8)
    ap.add_argument("--M", type=int, default=32)
    ap.add_argument("--ef-construction", type=int, default=200)
    ap.add_argument("--ef", default="16,32,64,128", help="hnsw search ef values to measure")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    res: dict = {"settings": vars(args).copy(), "threads_hnsw": "all (-1)"}

    (targets, texts, sources, n_labels), res["generate_s"], _ = timed(
        make_data, args.targets, args.texts, args.dim
    )
    shape = (args.targets, n_labels)  # labels-to-queries: rows are the target train queries

    exact = ExactIndex(targets, device="cpu")
    (e_scores, e_ids), res["exact_search_wall_s"], res["exact_search_cpu_s"] = timed(
        search_chunks, exact, texts, args.topk
    )
    res["exact_kept_hits"] = int((e_scores >= np.float32(args.tau)).sum())
    exact_pairs = vectorised_matrix(sources, e_scores, e_ids, args.tau, shape)
    res["exact_kept_pairs"] = int(exact_pairs.nnz)

    hnsw, res["hnsw_build_wall_s"], res["hnsw_build_cpu_s"] = timed(
        lambda: HnswIndex(targets, M=args.M, ef_construction=args.ef_construction)
    )
    res["hnsw"] = []
    for ef in [int(v) for v in args.ef.split(",")]:
        hnsw.ef = ef
        (h_scores, h_ids), wall, cpu = timed(search_chunks, hnsw, texts, args.topk)
        pairs = vectorised_matrix(sources, h_scores, h_ids, args.tau, shape)
        found = exact_pairs.multiply(pairs > 0).nnz
        row = {
            "ef": max(ef, args.topk),
            "search_wall_s": wall,
            "search_cpu_s": cpu,
            "speed_ratio_vs_exact_cpu": res["exact_search_cpu_s"] / cpu,
            "recall_kept_hits": kept_recall(e_scores, e_ids, h_ids, args.tau),
            "recall_kept_pairs": found / exact_pairs.nnz if exact_pairs.nnz else None,
        }
        res["hnsw"].append(row)
        print(json.dumps(row), flush=True)

    # aggregation: the last hnsw hits, tiled to --agg-texts texts with fresh random sources
    reps = -(-args.agg_texts // args.texts)
    rng = np.random.default_rng(1)
    agg_scores = np.tile(h_scores, (reps, 1))[: args.agg_texts]
    agg_ids = np.tile(h_ids, (reps, 1))[: args.agg_texts]
    agg_sources = rng.integers(0, n_labels, len(agg_ids))
    agg = (agg_sources, agg_scores, agg_ids, args.tau, shape)
    matrix, res["aggregate_vectorised_wall_s"], res["aggregate_vectorised_cpu_s"] = timed(
        vectorised_matrix, *agg
    )
    looped, res["aggregate_loop_wall_s"], res["aggregate_loop_cpu_s"] = timed(looped_matrix, *agg)
    res["aggregate_hits"] = int(agg_ids.size)
    res["aggregate_kept_hits"] = int((agg_scores >= np.float32(args.tau)).sum())
    res["aggregate_pairs"] = int(matrix.nnz)
    res["aggregate_speedup_cpu"] = res["aggregate_loop_cpu_s"] / res["aggregate_vectorised_cpu_s"]
    res["aggregate_speedup_wall"] = (
        res["aggregate_loop_wall_s"] / res["aggregate_vectorised_wall_s"]
    )
    res["aggregate_results_equal"] = bool((looped != matrix).nnz == 0)
    res["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    out = json.dumps(res, indent=2, default=float)
    print(out)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            handle.write(out + "\n")


if __name__ == "__main__":
    main()
