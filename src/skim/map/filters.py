"""Precision levers applied to the proposed pairs before tau is chosen.

Each filter keeps a subset of the aggregated score matrix, so the guard (``tau="auto"``)
measures and calibrates exactly the pairs that would be added:

- votes: a pair is kept only if at least ``min_votes`` of its source's synthetic texts
  propose it (several sampled completions that agree, rather than one lucky text);
- agreement: a pair is kept only if a learner trained on the observed labels + seed ranks
  the label among its top-k for the query.
"""

from __future__ import annotations

import os

import numpy as np
import scipy.sparse as sp

from skim.data import Dataset, canonical
from skim.errors import SkimError
from skim.pairs import contains, pair_keys


def keep_mask(scores: sp.csr_matrix, keep: np.ndarray) -> sp.csr_matrix:
    """``scores`` with only the stored entries where ``keep`` (aligned with ``.data``) holds."""
    kept = sp.csr_matrix(scores, copy=True)
    kept.data = np.where(keep, kept.data, 0).astype(np.float32)
    kept.eliminate_zeros()
    return kept


def keep_voted(scores: sp.csr_matrix, votes: np.ndarray, min_votes: int) -> sp.csr_matrix:
    """The pairs proposed by at least ``min_votes`` texts (``votes`` aligned with ``.data``)."""
    return keep_mask(scores, np.asarray(votes) >= min_votes)


def keep_ranked(scores: sp.csr_matrix, ranked: sp.csr_matrix) -> sp.csr_matrix:
    """The pairs stored in ``ranked`` too (e.g. a learner's top-k labels of each train query)."""
    if ranked.shape != scores.shape:
        raise SkimError(
            f"the agreement matrix has shape {ranked.shape[0]} x {ranked.shape[1]}, but the "
            f"mapping is {scores.shape[0]} x {scores.shape[1]}"
        )
    ranked_keys = pair_keys(canonical(ranked))  # sorted: canonical CSR, row-major keys
    return keep_mask(scores, contains(ranked_keys, pair_keys(scores)))


def ranked_by_learner(
    dataset: Dataset,
    agree_with: sp.spmatrix | str | os.PathLike,
    topk: int,
    cache_dir: str | os.PathLike | None = None,
    device: str | None = None,
) -> tuple[sp.csr_matrix, str]:
    """The top-``topk`` labels of every train query by a saved learner (or a given matrix).

    ``agree_with`` is a folder written by :func:`skim.learners.train` (typically trained on
    the observed labels + seed) or an ``N_trn x L`` matrix whose stored entries are the
    accepted pairs. Returns the matrix and a description for the manifest.
    """
    if isinstance(agree_with, (str, os.PathLike)):
        from skim.learners import predict

        folder = os.fspath(agree_with)
        ranked = predict(  # a folder that is not a model: predict's one-sentence SkimError
            dataset, folder, k=min(int(topk), dataset.n_labels), split="trn",
            cache_dir=cache_dir, device=device, show_progress=False,
        )  # fmt: skip
        return ranked, folder
    return canonical(agree_with), "matrix"
