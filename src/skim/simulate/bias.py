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

import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from skim._log import progress_enabled
from skim.data import Dataset, canonical
from skim.encode import encode_texts, resolve_encoder
from skim.errors import DatasetError
from skim.simulate.params import SimulateParams

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


def simulate_bias(
    dataset: Dataset, params: SimulateParams | None = None, **overrides: Any
) -> Dataset:
    """New observed ``trn_X_Y`` / ``tst_X_Y`` drawn from the complete (unbiased) matrices.

    Train and test get the same treatment; the unbiased matrices are never changed.

    Parameters
    ----------
    dataset
        Must hold ``trn_X_Y_unbiased`` and ``tst_X_Y_unbiased``.
    params, overrides
        The simulation's :class:`~skim.simulate.params.SimulateParams` (default: exposure
        top-200 with the bundled encoder), and keyword overrides of its fields.

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
    p = SimulateParams.build(params, "simulate_bias", **overrides)
    start = time.perf_counter()
    splits = {"train": dataset.trn_X_Y_unbiased, "test": dataset.tst_X_Y_unbiased}
    streams = np.random.SeedSequence(p.seed).spawn(len(splits))
    draws = {
        name: np.random.default_rng(stream).random(truth.nnz)
        for (name, truth), stream in zip(splits.items(), streams, strict=True)
    }
    settings: dict[str, Any] = {"seed": p.seed}
    if p.mar_fraction is not None:
        settings.update(method="mar", mar_fraction=p.mar_fraction)
        keeps = {name: mar_keep(draws[name], p.mar_fraction) for name in splits}
        counts: dict[str, dict[str, Any]] = {
            n: {"true_pairs": int(t.nnz)} for n, t in splits.items()
        }
    else:
        keeps, counts = _exposed_and_clicked(dataset, p, splits, draws, settings, start)
    observed = {name: _masked(truth, keeps[name]) for name, truth in splits.items()}
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


def _exposed_and_clicked(
    dataset: Dataset,
    p: SimulateParams,
    splits: dict[str, sp.csr_matrix],
    draws: dict[str, np.ndarray],
    settings: dict[str, Any],
    start: float,
) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
    """Which true pairs the exposure and the click model keep, per split, and their counts;
    records the encoder and the model in ``settings``."""
    enc = resolve_encoder(p.encoder)
    texts = dataset.trn_texts + dataset.tst_texts + dataset.label_texts
    vectors = encode_texts(enc, texts, cache_dir=p.cache_dir, ray=p.ray)
    settings["encode_seconds"] = round(time.perf_counter() - start, 2)
    n_trn, n_tst = dataset.n_trn, dataset.n_tst
    query_vecs = {"train": vectors[:n_trn], "test": vectors[n_trn : n_trn + n_tst]}
    label_vecs = vectors[n_trn + n_tst :]
    method = "+".join(m for m in ("exposure" if p.exposure_topk else None, p.click_model) if m)
    settings.update(
        method=method,
        exposure_topk=p.exposure_topk,
        click_model=p.click_model,
        temperature=p.temperature if p.click_model else None,
        encoder=str(getattr(enc, "name", enc.id)),
        encoder_id=enc.id,
        encoded_text="query and label texts (not metadata)",
    )
    keeps, counts = {}, {}
    for name, truth in splits.items():
        keep = np.ones(truth.nnz, dtype=bool)
        counts[name] = {"true_pairs": int(truth.nnz)}
        if p.exposure_topk is not None:
            keep = exposed_pairs(
                query_vecs[name], label_vecs, truth, p.exposure_topk, p.device, p.show_progress
            )
            counts[name]["exposed_pairs"] = int(keep.sum())
        if p.click_model == "sigmoid":
            scores = pair_scores(query_vecs[name], label_vecs, truth)
            keep &= sigmoid_clicks(scores, p.temperature, draws[name])
        keeps[name] = keep
    return keeps, counts
