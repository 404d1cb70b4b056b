"""Observed share of the true pairs under each simulation, on the full WordNet dataset.

A Figure 3-style sweep (paper, section 5.4): exposure top-K for several K, the sigmoid click
model after top-200 exposure, and the MAR control at the same observed share. Run after
``benchmarks/wordnet_build.py`` (it reuses the embedding cache)::

    python benchmarks/bias_sweep.py /tmp/wordnet --cache-dir CACHE
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", help="a built WordNet dataset directory")
    parser.add_argument("--cache-dir", help="embedding cache of the build")
    parser.add_argument("--ks", default="10,50,200,1000", help="exposure K values")
    args = parser.parse_args()

    from skim.data import load_dataset
    from skim.encode import SentenceEncoder
    from skim.simulate import simulate_bias

    ds = load_dataset(args.dataset)
    encoder = SentenceEncoder(show_progress=False)
    runs = [dict(exposure_topk=int(k)) for k in args.ks.split(",")]
    runs += [dict(exposure_topk=200, click_model="sigmoid", temperature=t) for t in (1.0, 0.1)]
    rows = []
    for settings in runs:
        start = time.perf_counter()
        out = simulate_bias(
            ds, encoder=encoder, cache_dir=args.cache_dir, show_progress=False, **settings
        )
        counts = out.info["simulation"]["counts"]
        rows.append(
            {
                **settings,
                "train_observed_share": counts["train"]["observed_share"],
                "test_observed_share": counts["test"]["observed_share"],
                "train_rows_without_labels": counts["train"]["rows_without_labels"],
                "seconds": round(time.perf_counter() - start, 1),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    share = rows[
        [r.get("exposure_topk") == 200 and "click_model" not in r for r in rows].index(True)
    ]
    out = simulate_bias(ds, mar_fraction=share["train_observed_share"])
    counts = out.info["simulation"]["counts"]
    print(
        json.dumps(
            {
                "mar_fraction": share["train_observed_share"],
                "train_observed_share": counts["train"]["observed_share"],
                "train_rows_without_labels": counts["train"]["rows_without_labels"],
            }
        )
    )


if __name__ == "__main__":
    main()
