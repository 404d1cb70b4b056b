"""The offline gold teacher: demonstrations from complete labels (simulated datasets only).

It stands in for an LLM that knows the answer. It draws a random fraction of the train items
(the *seed*), writes for each the same record an LLM teacher would (prompt from the same
template, completion = the item's complete partners one per line), and writes
``OUT.seed.npz``: the observed train matrix with the seed's complete labels added. Every
method of an experiment trains on that matrix, so SKIM's comparison with the baselines stays
fair (they all see the seed).

Seed by direction:

- queries-to-labels: a fraction of train *rows* (queries); their complete label rows are added.
- labels-to-queries: a fraction of *labels*; their complete query columns are added. A label
  is the item the teacher describes in this direction, so the seed is drawn over labels.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from skim._io import check_output, file_fingerprint, write_json_atomic
from skim.data import Dataset, as_dataset, canonical, resolve_matrix, save_matrix
from skim.direction import check_direction, target_texts
from skim.errors import SkimError
from skim.prompts import format_completion, load_template
from skim.records import manifest_path, sibling, write_records
from skim.teach.items import (
    base_record,
    build_items,
    item_key,
    oriented,
    sample_indices,
)
from skim.teach.params import TeachParams


def seed_matrix(dataset: Dataset, direction: str, seed_items: np.ndarray) -> sp.csr_matrix:
    """Observed train labels plus the complete labels of the seed rows (or label columns).

    Observed values are kept (an entry takes the larger of its observed and complete value).
    """
    complete = dataset.trn_X_Y_unbiased
    if complete is None:
        oriented(dataset, direction, unbiased=True)  # raises the SkimError naming the file
    axis = 0 if direction == "queries-to-labels" else 1
    mask = np.zeros(complete.shape[axis], dtype=np.float32)
    mask[seed_items] = 1.0
    keep = sp.diags(mask)
    added = keep @ complete if axis == 0 else complete @ keep
    return canonical(dataset.trn_X_Y.maximum(added))


def _input_fingerprints(dataset: Dataset) -> dict[str, str]:
    """SHA-256 of the label files the seed was drawn from (when the dataset is on disk)."""
    if dataset.path is None:
        return {}
    found = {name: resolve_matrix(dataset.path, name) for name in ("trn_X_Y", "trn_X_Y_unbiased")}
    return {path.name: file_fingerprint(path) for path in found.values() if path is not None}


def gold_teacher(
    dataset: Dataset | str | os.PathLike,
    out_path: str | os.PathLike,
    direction: str,
    seed_fraction: float,
    seed: int | None = None,
    params: TeachParams | None = None,
    *,
    n: int | None = None,
    **settings: Any,
) -> dict[str, Any]:
    """Write gold demonstrations for a random ``seed_fraction`` of the train items.

    Parameters
    ----------
    dataset
        A :class:`~skim.data.Dataset` or its directory; needs ``trn_X_Y_unbiased``.
    out_path
        The demonstrations file (``demos.jsonl``); ``demos.seed.npz`` and
        ``demos.manifest.json`` (with the seed's indices) are written beside it.
    direction
        ``"queries-to-labels"`` (seed = train queries) or ``"labels-to-queries"``
        (seed = labels).
    seed_fraction, seed
        Fraction in (0, 1] of the items in the seed, and the random seed that draws them
        (default ``params.seed``, 0).
    params, **settings
        A :class:`~skim.teach.params.TeachParams` and any of its fields as keywords: its
        ``template``, ``n_known``, ``max_meta_tokens`` and ``tokenizer`` make the gold prompts
        look like the LLM's (the endpoint settings are not used).
    n
        Texts asked for in the prompt; None (not ``params.n``, the LLM's) asks for every
        text. The completion lists every complete partner that is not shown as known.

    Returns
    -------
    dict
        Counts (seed items, records, texts, pairs added), the seed's indices and the paths.
    """
    started = time.monotonic()
    if seed is not None:
        settings["seed"] = seed
    p = TeachParams.build(params, "gold_teacher", **settings)
    check_direction(direction)
    _check_fraction(seed_fraction)
    dataset = as_dataset(dataset)
    complete = oriented(dataset, direction, unbiased=True)
    out_path = Path(out_path)
    check_output(out_path)
    n_known, max_meta_tokens = p.shown(direction)
    template = load_template(direction, p.template)
    seed_items = sample_indices(complete.shape[0], float(seed_fraction), p.seed)
    items = build_items(
        dataset, direction, seed_items, n_known, max_meta_tokens, p.tokenizer, p.seed
    )
    records = _gold_records(dataset, direction, complete, items, template, n)
    matrix = seed_matrix(dataset, direction, seed_items)
    seed_path = sibling(out_path, ".seed.npz")
    write_records(out_path, records)
    save_matrix(seed_path, matrix)
    summary = {
        "teacher": "gold",
        "direction": direction,
        "template": template.name,
        "template_sha256": template.digest,
        "seed_fraction": float(seed_fraction),
        "seed": p.seed,
        "n": n,
        "n_known": n_known,
        "max_meta_tokens": max_meta_tokens,
        **_counts(dataset, direction, seed_items, items, records, matrix),
        "elapsed_s": round(time.monotonic() - started, 3),
        "dataset": str(dataset.path) if dataset.path else None,
        "inputs_sha256": _input_fingerprints(dataset),
        "out": str(out_path),
        "seed_matrix": str(seed_path),
        "seed_matrix_sha256": file_fingerprint(seed_path),
        "seed_items": seed_items.tolist(),
    }
    write_json_atomic(manifest_path(out_path), summary)
    return summary


def _check_fraction(seed_fraction: Any) -> None:
    if isinstance(seed_fraction, bool) or not isinstance(seed_fraction, (int, float)):
        raise SkimError(f"seed fraction must be a number in (0, 1], got {seed_fraction!r}")
    if not 0 < seed_fraction <= 1:
        raise SkimError(f"seed fraction must lie in (0, 1], got {seed_fraction}")


def _gold_records(
    dataset: Dataset,
    direction: str,
    complete: sp.csr_matrix,
    items: list,
    template: Any,
    n: int | None,
) -> list[dict[str, Any]]:
    """One record per seed item that has a partner not shown as known: the LLM's prompt, and
    the item's complete partners as the completion."""
    partners = target_texts(dataset, direction)
    request = {"n": n}
    records = []
    for item in items:
        shown = set(item.known)
        cols = complete.indices[complete.indptr[item.source] : complete.indptr[item.source + 1]]
        texts = [partners[j] for j in cols if partners[j] not in shown]
        if not texts:
            continue
        prompt = template.render(direction, item.text, item.metadata, item.known, n)
        key = item_key("gold", template.digest, request, direction, item)
        record = base_record(direction, item, prompt, "gold", key)
        record.update(texts=texts, completion=format_completion(texts))
        records.append(record)
    return records


def _counts(
    dataset: Dataset,
    direction: str,
    seed_items: np.ndarray,
    items: list,
    records: list[dict[str, Any]],
    matrix: sp.csr_matrix,
) -> dict[str, Any]:
    """The manifest's counts: the seed, the records and texts, the pairs the seed adds."""
    return {
        "seed_axis": "rows" if direction == "queries-to-labels" else "labels",
        "seed_count": len(seed_items),
        "records": len(records),
        "empty": len(seed_items) - len(records),
        "texts": sum(len(r["texts"]) for r in records),
        "empty_metadata": sum(not item.metadata for item in items),
        "observed_pairs": int(dataset.trn_X_Y.nnz),
        "seed_pairs": int(matrix.nnz),
        "pairs_added": int(matrix.nnz - canonical(dataset.trn_X_Y).nnz),
    }
