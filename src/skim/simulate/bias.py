"""Click-bias simulations: observed labels made from complete ones (paper, appendix C, sec. 5.4).

- exposure (Algorithm 1): a true pair is observed only if a pretrained encoder ranks its label
  among the top-K labels for the query text, as if a deployed retriever had shown only those;
- click model (Figure 3, MNAR): an exposed pair is then kept with probability sigma(s / T),
  s being the encoder's score of the pair (cosine of the normalised embeddings);
- MAR (Figure 3's control): instead, a uniform random fraction F of the true pairs is kept.

The random draw of every true pair is made once per seed, whatever K or F, so that sweeping
K (or F) gives nested observed sets, as in a Figure 3 sweep.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from skim._log import progress_enabled
from skim.data import Dataset, canonical
from skim.encode import TextEncoder, encode_texts, resolve_encoder
from skim.errors import DatasetError, SkimError

CLICK_MODELS = ("sigmoid",)
DEFAULT_TEMPERATURE = 1.0
_QUERY_CHUNK = 8192


def pair_rows(matrix: sp.csr_matrix) -> np.ndarray:
    """Row index of every stored entry of a CSR matrix, in storage order."""
    return np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))


def pair_scores(
    query_vecs: np.ndarray, label_vecs: np.ndarray, truth: sp.csr_matrix, chunk: int = 1 << 16
) -> np.ndarray:
    """Inner product of query and label vectors for every stored pair of ``truth``."""
    rows, cols = pair_rows(truth), truth.indices
    out = np.empty(truth.nnz, np.float32)
    for a in range(0, truth.nnz, chunk):
        q, lab = query_vecs[rows[a : a + chunk]], label_vecs[cols[a : a + chunk]]
        out[a : a + chunk] = np.einsum("ij,ij->i", q, lab)
    return out


def exposed_pairs(
    query_vecs: np.ndarray,
    label_vecs: np.ndarray,
    truth: sp.csr_matrix,
    k: int,
    device: str | None = None,
    show_progress: bool = True,
) -> np.ndarray:
    """Whether each stored pair of ``truth`` has its label in the query's top-``k`` labels.

    Returns a boolean array aligned with ``truth.data``. Queries are searched in chunks with
    :func:`skim.index.exact_topk`, so memory stays bounded on the full WordNet set.
    """
    from tqdm.auto import tqdm

    from skim.index import exact_topk

    n, n_labels = truth.shape
    exposed = np.zeros(truth.nnz, dtype=bool)
    starts = range(0, n, _QUERY_CHUNK)
    bar = tqdm(
        starts, desc=f"exposure top-{k}", unit="chunk", disable=not progress_enabled(show_progress)
    )
    for q0 in bar:
        q1 = min(n, q0 + _QUERY_CHUNK)
        lo, hi = truth.indptr[q0], truth.indptr[q1]
        if lo == hi:
            continue
        _, ids = exact_topk(query_vecs[q0:q1], label_vecs, k, device=device)
        shown = np.sort((np.arange(q1 - q0)[:, None] * n_labels + ids).ravel())
        wanted = (pair_rows(truth[q0:q1]) * n_labels + truth.indices[lo:hi]).astype(np.int64)
        pos = np.minimum(np.searchsorted(shown, wanted), len(shown) - 1)
        exposed[lo:hi] = shown[pos] == wanted
    return exposed


def sigmoid_clicks(scores: np.ndarray, temperature: float, draws: np.ndarray) -> np.ndarray:
    """Click decisions: a pair is clicked when its uniform draw is below sigma(score / T)."""
    from scipy.special import expit

    return draws < expit(scores.astype(np.float64) / temperature)


def mar_keep(draws: np.ndarray, fraction: float) -> np.ndarray:
    """Keep exactly ``round(fraction * n)`` pairs: those with the smallest uniform draws."""
    keep = np.zeros(len(draws), dtype=bool)
    keep[np.argsort(draws, kind="stable")[: int(round(fraction * len(draws)))]] = True
    return keep


def _masked(truth: sp.csr_matrix, keep: np.ndarray) -> sp.csr_matrix:
    rows = pair_rows(truth)[keep]
    return canonical(
        sp.csr_matrix((truth.data[keep], (rows, truth.indices[keep])), shape=truth.shape)
    )


def _check_settings(
    exposure_topk: int | None,
    click_model: str | None,
    temperature: float,
    mar_fraction: float | None,
) -> None:
    if mar_fraction is not None:
        if not 0.0 <= mar_fraction <= 1.0:
            raise SkimError(f"--mar-fraction must be in [0, 1], got {mar_fraction}")
        if click_model is not None:
            raise SkimError("--mar-fraction replaces the exposure and click model; give one")
        return
    if exposure_topk is not None and exposure_topk < 1:
        raise SkimError(f"--exposure-topk must be a positive number of labels, got {exposure_topk}")
    if exposure_topk is None and click_model is None:
        raise SkimError(
            "nothing to simulate: give --exposure-topk, --click-model or --mar-fraction"
        )
    if click_model is not None and click_model not in CLICK_MODELS:
        raise SkimError(
            f"--click-model must be one of {', '.join(CLICK_MODELS)}, got {click_model!r}"
        )
    if not temperature > 0:
        raise SkimError(f"--temperature must be positive, got {temperature}")


def simulate_bias(
    dataset: Dataset,
    exposure_topk: int | None = 200,
    encoder: TextEncoder | str | os.PathLike | None = None,
    click_model: str | None = None,
    temperature: float = DEFAULT_TEMPERATURE,
    mar_fraction: float | None = None,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
    device: str | None = None,
    show_progress: bool = True,
) -> Dataset:
    """New observed ``trn_X_Y`` / ``tst_X_Y`` drawn from the complete (unbiased) matrices.

    Train and test get the same treatment; the unbiased matrices are never changed.

    Parameters
    ----------
    dataset
        Must hold ``trn_X_Y_unbiased`` and ``tst_X_Y_unbiased``.
    exposure_topk
        K of the exposure simulation (Algorithm 1); None exposes every label.
    encoder
        The pretrained "deployed retriever": a :class:`skim.encode.TextEncoder`, a
        sentence-transformers name or path, or None for the bundled all-MiniLM-L6-v2. It ranks
        the label texts for each query text (not the metadata).
    click_model
        None (every exposed pair is clicked) or ``"sigmoid"``: keep with probability
        sigma(s / ``temperature``), s the pair's inner product of embeddings (the cosine for
        sentence-transformers encoders, which skim normalises).
    mar_fraction
        If given, ignore exposure and click model and keep a uniform random fraction of the
        true pairs (missing at random, the control of Figure 3).
    seed
        Seed of the click / MAR draws (train and test use independent streams).
    cache_dir
        Embedding cache: a rerun with the same texts and encoder does not encode again.

    Returns
    -------
    Dataset
        A copy with the new observed matrices and ``info["simulation"]``: settings, the
        encoder that made the bias, per-split counts and the time taken.
    """
    if dataset.trn_X_Y_unbiased is None or dataset.tst_X_Y_unbiased is None:
        where = dataset.path or "the dataset"
        raise DatasetError(
            f"{where}: simulating bias needs the complete labels trn_X_Y_unbiased.npz and "
            "tst_X_Y_unbiased.npz"
        )
    _check_settings(exposure_topk, click_model, temperature, mar_fraction)
    start = time.perf_counter()
    splits = {"train": dataset.trn_X_Y_unbiased, "test": dataset.tst_X_Y_unbiased}
    streams = np.random.SeedSequence(seed).spawn(len(splits))
    draws = {
        name: np.random.default_rng(stream).random(truth.nnz)
        for (name, truth), stream in zip(splits.items(), streams, strict=True)
    }
    settings: dict[str, Any] = {"seed": seed}
    counts: dict[str, dict[str, Any]] = {}
    observed: dict[str, sp.csr_matrix] = {}

    if mar_fraction is not None:
        settings.update(method="mar", mar_fraction=mar_fraction)
        for name, truth in splits.items():
            keep = mar_keep(draws[name], mar_fraction)
            observed[name] = _masked(truth, keep)
            counts[name] = {"true_pairs": int(truth.nnz)}
    else:
        enc = resolve_encoder(encoder)
        texts = dataset.trn_texts + dataset.tst_texts + dataset.label_texts
        vectors = encode_texts(enc, texts, cache_dir=cache_dir)
        settings["encode_seconds"] = round(time.perf_counter() - start, 2)
        n_trn, n_tst = dataset.n_trn, dataset.n_tst
        query_vecs = {"train": vectors[:n_trn], "test": vectors[n_trn : n_trn + n_tst]}
        label_vecs = vectors[n_trn + n_tst :]
        method = "+".join(m for m in ("exposure" if exposure_topk else None, click_model) if m)
        settings.update(
            method=method,
            exposure_topk=exposure_topk,
            click_model=click_model,
            temperature=temperature if click_model else None,
            encoder=str(getattr(enc, "name", enc.id)),
            encoder_id=enc.id,
            encoded_text="query and label texts (not metadata)",
        )
        for name, truth in splits.items():
            keep = np.ones(truth.nnz, dtype=bool)
            counts[name] = {"true_pairs": int(truth.nnz)}
            if exposure_topk is not None:
                keep = exposed_pairs(
                    query_vecs[name], label_vecs, truth, exposure_topk, device, show_progress
                )
                counts[name]["exposed_pairs"] = int(keep.sum())
            if click_model == "sigmoid":
                scores = pair_scores(query_vecs[name], label_vecs, truth)
                keep &= sigmoid_clicks(scores, temperature, draws[name])
            observed[name] = _masked(truth, keep)

    for name, matrix in observed.items():
        true_pairs = counts[name]["true_pairs"]
        counts[name].update(
            observed_pairs=int(matrix.nnz),
            observed_share=round(matrix.nnz / true_pairs, 6) if true_pairs else 0.0,
            rows_without_labels=int((np.diff(matrix.indptr) == 0).sum()),
        )
    settings["counts"] = counts
    settings["seconds"] = round(time.perf_counter() - start, 2)
    return dataset.replace(
        trn_X_Y=observed["train"],
        tst_X_Y=observed["test"],
        info={**dataset.info, "simulation": settings},
    )
