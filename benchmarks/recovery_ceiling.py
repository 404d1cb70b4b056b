"""What an offline, knowledge-free generator can recover, and what it is worth to a learner.

    python benchmarks/recovery_ceiling.py RUN_DIR [--learner ova] [--epochs 1]

RUN_DIR is a ``skim demo`` / ``skim run`` folder (``dataset/`` with complete train labels, as
the simulation writes them, and the teacher's ``demos.seed.npz`` = observed + seed labels).

Candidates come from the most precise offline rule we found for queries-to-labels: the *genus
term* of a train query's definition (the last words of the first noun-phrase chunk of its
metadata, when they are a label's name; the most-clicked label when several share the name),
and optionally the genus terms of its clicked labels' definitions (their broader concepts).
For each candidate set the script prints the new pairs, their precision and the share of the
missing train pairs they recover, measured on every train row against the complete labels.
It then trains the learner on the observed + seed labels, plus all the candidates, plus only
the correct candidates (an oracle filter: the most this recovery level can give), and prints
unbiased R@100 of each. Results: benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from skim.data import load_dataset
from skim.evaluate import evaluate_predictions
from skim.generate.extractive import candidate_phrases
from skim.learners import predict, train


def label_names(label_texts: list[str]) -> dict[str, list[int]]:
    names: dict[str, list[int]] = defaultdict(list)
    for j, text in enumerate(label_texts):
        for name in text.split(","):
            if name.strip():
                names[name.strip().lower()].append(j)
    return names


def genus(metadata: str, names: dict[str, list[int]], clicks: np.ndarray) -> int | None:
    """The label named by the longest head span of the first chunk, most-clicked sense first."""
    spans = candidate_phrases(metadata, max_words=4)
    first = [p.lower() for p, rank, head in spans if rank == 0 and head]
    for phrase in sorted(first, key=lambda p: -len(p.split())):
        if phrase in names:
            return max(names[phrase], key=lambda j: clicks[j])
    return None


def candidates(dataset, observed: sp.csr_matrix, with_partners: bool) -> sp.csr_matrix:
    names = label_names(list(dataset.label_texts))
    clicks = np.asarray(observed.sum(axis=0)).ravel()
    label_genus = [genus(m, names, clicks) for m in dataset.label_meta]
    banned = {tuple(p) for p in np.asarray(dataset.trn_filter).reshape(-1, 2).tolist()}
    rows, cols = [], []
    for i, meta in enumerate(dataset.trn_meta):
        known = set(observed.indices[observed.indptr[i] : observed.indptr[i + 1]].tolist())
        own = genus(meta, names, clicks)
        found = {own} if own is not None else set()
        if with_partners:
            found |= {label_genus[p] for p in known | found if label_genus[p] is not None}
        for j in found - known:
            if (i, j) not in banned:
                rows.append(i)
                cols.append(j)
    data = np.ones(len(rows), np.float32)
    return sp.csr_matrix((data, (rows, cols)), shape=observed.shape)


def unbiased_r100(dataset, labels: sp.csr_matrix, learner: str, epochs: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        model = train(dataset, Path(tmp) / "m", learner=learner, labels=labels, epochs=epochs)
        scores = predict(dataset, model, k=100)
    return 100 * evaluate_predictions(dataset, scores, k=(100,))["unbiased"]["R@100"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--learner", default="ova")
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    dataset = load_dataset(args.run_dir / "dataset")
    observed = sp.load_npz(args.run_dir / "demos.seed.npz").tocsr()
    truth = dataset.trn_X_Y_unbiased.tocsr()
    missing = truth.nnz - truth.multiply(observed > 0).nnz
    base = unbiased_r100(dataset, observed, args.learner, args.epochs)
    print(f"observed + seed: unbiased R@100 {base:.2f}")
    for with_partners in (False, True):
        new = candidates(dataset, observed, with_partners)
        correct = new.multiply(truth > 0).tocsr()
        correct.data[:] = 1
        name = "genus terms" + (" + clicked labels' genus terms" if with_partners else "")
        print(
            f"{name}: {new.nnz} new pairs, precision {correct.nnz / max(new.nnz, 1):.3f}, "
            f"recovered {correct.nnz / missing:.3f} of {missing} missing"
        )
        for kind, pairs in (("all", new), ("correct only", correct)):
            r100 = unbiased_r100(
                dataset, observed.maximum(pairs).tocsr(), args.learner, args.epochs
            )
            print(f"  + {kind}: unbiased R@100 {r100:.2f} ({r100 - base:+.2f})")


if __name__ == "__main__":
    main()
