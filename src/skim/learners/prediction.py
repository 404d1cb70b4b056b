"""``predict``: the top-k labels of every query of a split, with a saved model."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from skim.data import Dataset, as_dataset
from skim.devices import resolve_device
from skim.encode import TextEncoder, model_encoder
from skim.errors import SkimError
from skim.learners.features import embed, query_texts
from skim.learners.params import TrainParams
from skim.learners.registry import LEARNERS
from skim.modelfolder import load_model
from skim.registry import load

if TYPE_CHECKING:
    from skim.scale.cluster import RayOptions


def topk_matrix(scores: np.ndarray, ids: np.ndarray, n_labels: int) -> sp.csr_matrix:
    """CSR holding each row's top-k scores; values kept in (0, 1] so none is dropped."""
    n, k = ids.shape
    data = np.clip(scores, np.finfo(np.float32).tiny, 1.0).astype(np.float32).ravel()
    indptr = np.arange(0, n * k + 1, k, dtype=np.int64)
    matrix = sp.csr_matrix((data, ids.ravel(), indptr), shape=(n, n_labels))
    matrix.sort_indices()
    return matrix


def predict(
    dataset: Dataset | str | os.PathLike,
    model_dir: str | os.PathLike,
    k: int = 100,
    split: str = "tst",
    encoder: TextEncoder | str | None = None,
    cache_dir: str | os.PathLike | None = None,
    device: str | None = None,
    show_progress: bool = True,
    ray: RayOptions | None = None,
) -> sp.csr_matrix:
    """Scores of the top-``k`` labels of every query of ``split``.

    Parameters
    ----------
    dataset
        A :class:`~skim.data.Dataset` or its directory (same labels as at training).
    model_dir
        A folder written by :func:`skim.learners.train`.
    k
        Labels kept per query.
    split
        ``"tst"`` or ``"trn"``.
    encoder
        Only for a model trained with a custom :class:`~skim.encode.TextEncoder`: that encoder.
    ray
        Encode the texts the embedding cache lacks on this Ray cluster's actor pool
        (:class:`skim.scale.cluster.RayOptions`); None: in this process. Same scores.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``N x L`` float32; each row stores its ``k`` best labels. ova stores the sigmoid of
        the label's logit, dual ``(cos + 1) / 2``.
    """

    if k < 1:
        raise SkimError(f"k must be at least 1, got {k}")
    device = resolve_device(device)  # a missing GPU before the model and texts are loaded
    model_dir = Path(model_dir)
    config, tensors = load_model(model_dir)
    dataset = as_dataset(dataset)
    if config["n_labels"] != dataset.n_labels:
        raise SkimError(
            f"{model_dir}: the model has {config['n_labels']} labels but the dataset has "
            f"{dataset.n_labels}"
        )
    params = TrainParams.from_dict(config["params"])
    enc = model_encoder(model_dir, config, encoder, show_progress=show_progress, device=device)
    cache = None if config.get("finetuned") else cache_dir
    queries = embed(enc, query_texts(dataset, split, params.with_metadata), cache, ray)
    topk = load(LEARNERS.lookup(params.learner).topk)

    def label_vectors() -> np.ndarray:
        return embed(enc, list(dataset.label_texts), cache, ray)

    scores, ids = topk(config, tensors, params, queries, label_vectors, k, device)
    return topk_matrix(scores, ids, dataset.n_labels)
