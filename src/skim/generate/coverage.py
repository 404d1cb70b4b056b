"""GT coverage@k of synthetic texts (paper Figure 6): how many true partners they reach.

For each source item in SYNTHETIC.jsonl, every synthetic text retrieves its ``k`` nearest real
targets (labels for queries-to-labels, train queries for labels-to-queries); per target the
best score over the item's texts is kept, and the item's top ``k`` targets are compared with
its true partners (the unbiased labels when the dataset has them). Coverage is the share of
true partners found, averaged over items that have any. ``missing_coverage@k`` counts only
the true partners the observed labels lack: the ones SKIM exists to recover.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from skim.data import Dataset, as_dataset
from skim.direction import by_source, check_direction, target_texts
from skim.encode import TextEncoder, encode_texts
from skim.errors import SkimError
from skim.index import exact_topk


def read_synthetic(path: str | os.PathLike) -> dict[int, list[str]]:
    """``{source: texts}`` from a SYNTHETIC.jsonl file (texts of repeated sources are joined)."""
    path = Path(path)
    if not path.is_file():
        raise SkimError(f"synthetic file {path} does not exist")
    from skim.teach.store import read_demonstrations

    out: dict[int, list[str]] = {}
    for record in read_demonstrations(path, ("source", "texts")):
        out.setdefault(int(record["source"]), []).extend(record["texts"])
    return out


def evaluate_generation(
    dataset: Dataset | str | os.PathLike,
    synthetic: str | os.PathLike | dict[int, list[str]],
    direction: str,
    encoder: TextEncoder | str | None = None,
    k: int = 100,
    cache_dir: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """GT coverage@k of ``synthetic`` texts against the dataset's true train partners.

    Parameters
    ----------
    encoder
        A :class:`~skim.encode.TextEncoder`, a model name/folder, or None for the default.

    Returns
    -------
    dict
        ``coverage@k`` (mean share of true partners in the top k, in [0, 1]),
        ``missing_coverage@k`` (same over true partners not observed; when the dataset has
        unbiased labels), ``items``, ``texts_per_item`` and which labels served as truth.
    """
    check_direction(direction)
    dataset = as_dataset(dataset)
    synth = synthetic if isinstance(synthetic, dict) else read_synthetic(synthetic)
    unbiased = dataset.trn_X_Y_unbiased is not None
    truth = dataset.trn_X_Y_unbiased if unbiased else dataset.trn_X_Y
    truth, observed = by_source(truth, direction), by_source(dataset.trn_X_Y, direction)
    n_sources = truth.shape[0]
    bad = [s for s in synth if not 0 <= s < n_sources]
    if bad:
        raise SkimError(f"synthetic source {bad[0]} is out of range ({n_sources} sources)")
    from skim.encode import resolve_encoder

    encoder = resolve_encoder(encoder)

    sizes = np.diff(truth.indptr)

    def row(matrix: sp.csr_matrix, i: int) -> set[int]:
        return set(matrix.indices[matrix.indptr[i] : matrix.indptr[i + 1]].tolist())

    sources = [s for s in sorted(synth) if sizes[s]]
    flat = [t for s in sources for t in synth[s]]
    bounds = np.concatenate([[0], np.cumsum([len(synth[s]) for s in sources])]).astype(int)
    found = np.zeros(len(sources), np.float64)
    found_missing = np.full(len(sources), np.nan)
    if flat:
        targets = encode_texts(encoder, target_texts(dataset, direction), cache_dir)
        queries = encode_texts(encoder, flat, cache_dir)
        scores, ids = exact_topk(queries, targets, k)
    for pos, source in enumerate(sources):
        gold = row(truth, source)
        top: set[int] = set()
        if bounds[pos + 1] > bounds[pos]:
            rows = slice(bounds[pos], bounds[pos + 1])
            s, i = scores[rows].ravel(), ids[rows].ravel()
            order = np.argsort(-s, kind="stable")
            seen: dict[int, None] = {}
            for j in i[order]:
                seen.setdefault(int(j))
                if len(seen) == k:
                    break
            top = set(seen)
        found[pos] = len(gold & top) / len(gold)
        missing = gold - row(observed, source)
        if unbiased and missing:
            found_missing[pos] = len(missing & top) / len(missing)
    result = {
        "direction": direction,
        "k": k,
        f"coverage@{k}": float(found.mean()) if len(found) else 0.0,
        "items": len(sources),
        "texts_per_item": round(len(flat) / max(1, len(sources)), 3),
        "truth": "trn_X_Y_unbiased" if unbiased else "trn_X_Y",
        "encoder": encoder.id,
    }
    if unbiased:
        valid = found_missing[~np.isnan(found_missing)]
        result[f"missing_coverage@{k}"] = float(valid.mean()) if len(valid) else 0.0
        result["items_with_missing"] = int(len(valid))
    return result
