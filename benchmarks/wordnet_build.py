"""Wall time and peak memory of the full WordNet build with the exposure simulation.

Run (cold embedding cache, the case of a fresh install)::

    /usr/bin/time -v python benchmarks/wordnet_build.py --out /tmp/wordnet

``--cache-dir DIR`` reuses an embedding cache (the warm case: a rerun encodes nothing).
Prints one JSON object: timings, peak RSS and ``skim stats`` of the result.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output dataset directory")
    parser.add_argument("--cache-dir", help="embedding cache (default: a fresh, empty one)")
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--exposure-topk", type=int, default=200)
    args = parser.parse_args()

    from skim.data.stats import dataset_stats
    from skim.simulate import build_wordnet_dataset

    cache = args.cache_dir or tempfile.mkdtemp(prefix="skim-bench-cache-")
    start = time.perf_counter()
    ds = build_wordnet_dataset(
        args.out, depth=args.depth, exposure_topk=args.exposure_topk, cache_dir=cache
    )
    wall = time.perf_counter() - start
    sim = ds.info.get("simulation", {})
    print(
        json.dumps(
            {
                "wall_seconds": round(wall, 1),
                "build_seconds_before_write": ds.info.get("build_seconds"),
                "encode_seconds": sim.get("encode_seconds"),
                "simulate_seconds": sim.get("seconds"),
                "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
                "cpu_count": os.cpu_count(),
                "load_average_1min_at_end": os.getloadavg()[0],
                "counts": sim.get("counts"),
                "stats": dataset_stats(ds),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
