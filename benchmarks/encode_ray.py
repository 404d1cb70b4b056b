"""The quick WordNet subset's encode (the bias simulation's texts), one process against Ray.

Run (each mode in a fresh, empty embedding cache; ``--modes`` picks them)::

    python benchmarks/encode_ray.py --modes one ray --actors 2

Prints one JSON line per mode: texts, wall seconds, CPU seconds of this process and of its
child processes (the Ray instance it starts: raylet and workers), and, after both, the largest
difference between the two modes' vectors and whether they are bit for bit the same.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np


def _children_cpu() -> float:
    import psutil

    total = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            continue
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", nargs="+", default=["one", "ray"], choices=["one", "ray"])
    parser.add_argument("--actors", type=int, default=2)
    args = parser.parse_args()

    from skim.demo import PAPER_REGIME, QUICK_LEXFILES
    from skim.encode import SentenceEncoder, encode_texts
    from skim.scale.cluster import RayOptions, connect
    from skim.simulate.wordnet import read_noun_synsets, resolve_lexfiles, wordnet_dataset

    ds = wordnet_dataset(read_noun_synsets(), depth=PAPER_REGIME["depth"],
                         lexfiles=resolve_lexfiles(QUICK_LEXFILES))  # fmt: skip
    texts = ds.trn_texts + ds.tst_texts + ds.label_texts  # what simulate_bias encodes
    encoder = SentenceEncoder(show_progress=False)
    vectors = {}
    for mode in args.modes:
        ray = None
        if mode == "ray":
            ray = RayOptions(actors=args.actors)
            connect(ray.address)  # the cluster's start is not in the measured time
        with tempfile.TemporaryDirectory() as cache:
            wall, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
            vectors[mode] = encode_texts(encoder, texts, cache, ray=ray)
            wall = time.perf_counter() - wall
            cpu, children = time.process_time() - cpu, _children_cpu() - children
        print(json.dumps({"mode": mode, "texts": len(texts), "wall_s": round(wall, 1),
                          "cpu_s_this_process": round(cpu, 1),
                          "cpu_s_children": round(children, 1)}), flush=True)  # fmt: skip
    if len(vectors) == 2:
        diff = float(np.abs(vectors["one"] - vectors["ray"]).max())
        same = bool(np.array_equal(vectors["one"], vectors["ray"]))
        print(json.dumps({"max_abs_diff": diff, "bit_identical": same}))


if __name__ == "__main__":
    main()
