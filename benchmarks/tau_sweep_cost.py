"""What the tau sweep beside a fixed tau costs the mapping stage: CPU seconds of one
``map_synthetic`` call with the sweep (the default ``tau_grid``) against the same call without
it (``tau_grid`` holding only the fixed tau: one pass at tau, as before the sweep).

    python benchmarks/tau_sweep_cost.py RUN [--tau 0.8] [--repeats 3]

RUN is a finished ``skim run`` folder with the gold teacher and one extractive mapping (its
dataset, ``demos.seed.npz``, ``demos.manifest.json``, ``synthetic-extractive.jsonl`` and the
dual model ``models/base-none-dual``, the mapping encoder). The two settings alternate, the
embedding cache is warm after the first call (that call is not counted), and the kept matrices
are checked to be identical.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from skim.data import load_dataset, load_matrix
from skim.map import map_synthetic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--tau", type=float, default=0.8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    run = args.run
    dataset_dir = run / "simulated" if (run / "simulated").is_dir() else run / "dataset"
    dataset = load_dataset(dataset_dir)
    seed = load_matrix(run / "demos.seed.npz")
    rows = json.loads((run / "demos.manifest.json").read_text())["seed_items"]
    kwargs = dict(
        observed=seed, known=seed, known_rows=rows, tau=args.tau, topk=10,
        encoder=str(run / "models" / "base-none-dual"), progress=False,
    )  # fmt: skip
    settings = {"sweep": {}, "no sweep": {"tau_grid": (args.tau,)}}
    synthetic = run / "synthetic-extractive.jsonl"
    map_synthetic(dataset, synthetic, "queries-to-labels", **kwargs)  # warms the cache
    cpu: dict[str, list[float]] = {name: [] for name in settings}
    kept = {}
    for _ in range(args.repeats):
        for name, extra in settings.items():
            t0 = time.process_time()
            matrix, manifest = map_synthetic(
                dataset, synthetic, "queries-to-labels", **kwargs, **extra
            )
            cpu[name].append(time.process_time() - t0)
            kept[name] = matrix
            table = manifest["tau_table"]
            print(f"{name}: {cpu[name][-1]:.2f} CPU s, tau table rows {len(table)}", flush=True)
    same = (kept["sweep"] != kept["no sweep"]).nnz == 0
    best = {name: min(values) for name, values in cpu.items()}
    print(json.dumps({"min_cpu_s": best, "same_matrix": same}))


if __name__ == "__main__":
    main()
