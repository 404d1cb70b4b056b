"""SKIM step 2: map synthetic texts onto real texts and turn the neighbours into label pairs.

Each synthetic text is encoded, its top-k nearest targets (train queries, or labels) are found
by cosine, scored ``(cos + 1) / 2`` and kept when the score reaches tau; a (query, label) pair
gets the maximum score over the texts proposing it, and the result is united with the observed
labels (value = max(observed, score)) so that no click is ever lost.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from skim import __version__
from skim._io import file_fingerprint, texts_fingerprint, write_json_atomic
from skim.data import Dataset, canonical, load_dataset, load_matrix, save_matrix
from skim.encode import TextEncoder, default_cache_dir, encode_texts, load_text_encoder
from skim.errors import SkimError
from skim.index import build_index
from skim.map.calibration import calibrated_values, isotonic_fit
from skim.map.filters import keep_ranked, keep_voted, ranked_by_learner
from skim.map.pairs import (
    DIRECTIONS,
    QUERIES_TO_LABELS,
    PairAccumulator,
    PairCounter,
    contains,
    cosine_to_score,
    hits_to_pairs,
    pair_keys,
)
from skim.map.synthetic import DEFAULT_CHUNK_SIZE, SyntheticFile
from skim.map.tau import (
    DEFAULT_TAU_GRID,
    MIN_KNOWN_PAIRS,
    KnownLabels,
    TauUnreachable,
    choose_tau,
    resolve_known,
    tau_table,
)

if TYPE_CHECKING:
    from skim.scale.cluster import RayOptions

N_EXAMPLES = 10
DEFAULT_AGREE_TOPK = 20
"""With ``agree_with``: a pair is kept if the learner ranks its label in this many per query."""


def matrix_fingerprint(matrix: sp.csr_matrix) -> str:
    """SHA-256 of a canonical CSR matrix's shape, structure and values."""
    matrix = canonical(matrix)
    digest = hashlib.sha256(f"{matrix.shape[0]}x{matrix.shape[1]}".encode())
    for part in (matrix.indptr.astype(np.int64), matrix.indices.astype(np.int64), matrix.data):
        digest.update(np.ascontiguousarray(part).tobytes())
    return digest.hexdigest()


def _as_dataset(dataset: Dataset | str | os.PathLike) -> Dataset:
    return dataset if isinstance(dataset, Dataset) else load_dataset(dataset)


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1).astype(np.float32)


def _resolve_encoder(encoder: TextEncoder | str | None, device: str | None) -> TextEncoder:
    if encoder is None or isinstance(encoder, (str, os.PathLike)):
        kwargs = {"device": device} if device else {}
        return load_text_encoder(None if encoder is None else str(encoder), **kwargs)
    if not isinstance(encoder, TextEncoder):
        raise SkimError(f"encoder must be a TextEncoder, a model name or a path, got {encoder!r}")
    return encoder


def _resolve_observed(dataset: Dataset, observed) -> tuple[sp.csr_matrix, dict]:
    if observed is None:
        matrix, info = dataset.trn_X_Y, {"origin": "trn_X_Y"}
    elif isinstance(observed, (str, os.PathLike)):
        matrix = load_matrix(observed)
        info = {"origin": str(observed), "sha256": file_fingerprint(observed)}
    else:
        matrix, info = canonical(observed), {"origin": "matrix"}
    if matrix.shape != (dataset.n_trn, dataset.n_labels):
        raise SkimError(
            f"observed labels ({info['origin']}) have shape {matrix.shape[0]} x "
            f"{matrix.shape[1]}, but the dataset has {dataset.n_trn} train queries x "
            f"{dataset.n_labels} labels"
        )
    if "sha256" not in info:  # a file's own hash is already there
        info["sha256"] = matrix_fingerprint(matrix)
    info["pairs"] = int(matrix.nnz)
    return matrix, info


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise SkimError(f"{name} must be a positive integer, got {value!r}")


def _check_settings(
    direction: str,
    topk: int,
    tau: Any,
    target_precision: Any,
    min_votes: Any = 1,
    agree_topk: Any = DEFAULT_AGREE_TOPK,
) -> None:
    if direction not in DIRECTIONS:
        raise SkimError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    _positive_int("topk", topk)
    _positive_int("min_votes", min_votes)
    _positive_int("agree_topk", agree_topk)
    if tau == "auto":
        if target_precision is None or not 0 < float(target_precision) <= 1:
            raise SkimError(
                f"tau 'auto' needs a target precision in (0, 1], got {target_precision!r}"
            )
    elif isinstance(tau, str) or not 0 <= float(tau) <= 1:
        raise SkimError(f"tau must be a number in [0, 1] or 'auto', got {tau!r}")
    elif target_precision is not None:
        raise SkimError("a target precision is only used with tau 'auto'")


@dataclass
class Proposal:
    """Everything one streaming pass over the synthetic texts found (scores >= ``floor``)."""

    scores: sp.csr_matrix
    floor: float
    counts: dict
    hits_at: dict[float, int]
    index_params: dict
    encoder_id: str
    timings: dict
    examples: list = field(default_factory=list)
    votes: np.ndarray | None = None
    """With ``count_votes``: how many texts proposed each stored pair (aligned with
    ``scores.data``), repeated texts counted as often as they occur."""


def propose_pairs(
    dataset: Dataset,
    synthetic: str | os.PathLike,
    direction: str,
    encoder: TextEncoder | str | None = None,
    index: str = "auto",
    topk: int = 10,
    floor: float = 0.8,
    taus: tuple[float, ...] = (),
    cache_dir: str | os.PathLike | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    index_params: dict | None = None,
    device: str | None = None,
    progress: bool = False,
    count_votes: bool = False,
    ray: RayOptions | None = None,
) -> Proposal:
    """One pass: encode targets, index them, stream the synthetic texts, max-aggregate hits.

    Memory holds the target index, one chunk of synthetic texts and the aggregated pairs with
    score >= ``floor``. Embeddings are cached by content in ``cache_dir``, so a rerun (or a run
    after a crash) does not encode again. ``taus`` lists thresholds at which to also count the
    raw hits (text, neighbour) before aggregation. ``count_votes`` also counts how many texts
    propose each pair (hits >= ``floor``; a text repeated for its source counts each time).
    ``ray``: encode and search in a Ray actor pool (:mod:`skim.map.ray_map`); same result.
    """
    timings: dict[str, float] = {}
    start = time.perf_counter()
    to_labels = direction == QUERIES_TO_LABELS
    if to_labels:
        n_sources, sources_name = dataset.n_trn, f"trn_X.txt has {dataset.n_trn} train queries"
        targets = dataset.label_texts
    else:
        n_sources, sources_name = dataset.n_labels, f"Y.txt has {dataset.n_labels} labels"
        targets = dataset.trn_texts
    synth = SyntheticFile(synthetic, n_sources, sources_name)
    synth.check()  # fail fast on a bad line, before any encoding
    timings["check_synthetic"] = time.perf_counter() - start

    t0 = time.perf_counter()
    enc = _resolve_encoder(encoder, device)
    timings["load_encoder"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if ray is None or len(targets) <= chunk_size:  # one chunk: no faster on one actor
        target_vectors = _normalise(encode_texts(enc, targets, cache_dir))
    else:
        from skim.map.ray_map import encode_on_ray

        target_vectors = encode_on_ray(encoder, targets, ray, cache_dir, device, chunk_size)
    timings["encode_targets"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    params = dict(index_params or {})
    if device and index in ("auto", "exact"):
        params.setdefault("device", device)
    index_cache = Path(cache_dir or default_cache_dir())
    idx = build_index(target_vectors, kind=index, cache_dir=index_cache, **params)
    timings["build_index"] = time.perf_counter() - t0

    shape = (dataset.n_trn, dataset.n_labels)
    acc = PairAccumulator(shape)
    counter = PairCounter(shape) if count_votes else None
    tau_marks = np.asarray(sorted(set(taus) | {floor}), dtype=np.float32)
    hits_at = np.zeros(len(tau_marks), dtype=np.int64)
    examples: list[dict] = []
    searched = 0
    t_aggregate = 0.0
    timings.update(encode_synthetic=0.0, search=0.0)
    chunks = synth.counted_chunks(chunk_size, progress=progress and ray is None)
    if ray is None:
        searched_chunks = _search_chunks(chunks, enc, idx, topk, cache_dir, timings)
    else:
        from skim.map.ray_map import search_on_ray

        searched_chunks = search_on_ray(
            chunks, encoder, idx, target_vectors, index, params, topk, ray, timings,
            cache_dir, device, progress,
        )  # fmt: skip
    for sources, texts, times, cosines, ids in searched_chunks:
        t2 = time.perf_counter()
        scores = cosine_to_score(cosines)
        scores[ids < 0] = 0
        searched += int(np.count_nonzero(ids >= 0))
        valid = np.sort(scores[ids >= 0])
        hits_at += len(valid) - np.searchsorted(valid, tau_marks, side="left")
        rows, cols, values = hits_to_pairs(sources, scores, ids, floor, direction)
        acc.add(rows, cols, values)
        if counter is not None:  # same row-major order as hits_to_pairs' hits
            hit = (scores >= np.float32(floor)) & (ids >= 0)
            counter.add(rows, cols, np.broadcast_to(times[:, None], ids.shape)[hit])
        if len(examples) < N_EXAMPLES:  # the first text of each of the first sources
            seen = {ex["source"] for ex in examples}
            for i in np.flatnonzero(np.r_[True, sources[1:] != sources[:-1]]):
                if len(examples) < N_EXAMPLES and int(sources[i]) not in seen:
                    seen.add(int(sources[i]))
                    neighbours = zip(ids[i].tolist(), scores[i].tolist(), strict=True)
                    examples.append(
                        {
                            "source": int(sources[i]),
                            "text": texts[i],
                            "neighbours": list(neighbours),
                        }
                    )
        t_aggregate += time.perf_counter() - t2
    t0 = time.perf_counter()
    scores_matrix = acc.matrix()
    votes = None
    if counter is not None:
        rows = np.repeat(np.arange(shape[0], dtype=np.int64), np.diff(scores_matrix.indptr))
        votes = counter.counts_of(rows * shape[1] + scores_matrix.indices.astype(np.int64))
    timings["aggregate"] = t_aggregate + time.perf_counter() - t0
    counts = dict(synth.counts, neighbours_searched=searched)
    hits = {round(float(t), 6): int(h) for t, h in zip(tau_marks, hits_at, strict=True)}
    return Proposal(
        scores_matrix, float(floor), counts, hits, idx.params(), enc.id, timings, examples, votes
    )


def _search_chunks(chunks, enc, idx, topk, cache_dir, timings):
    """Encode and search each chunk in this process: ``(sources, texts, times, cos, ids)``."""
    for sources, texts, times in chunks:
        t0 = time.perf_counter()
        vectors = _normalise(encode_texts(enc, texts, cache_dir))
        t1 = time.perf_counter()
        cosines, ids = idx.search(vectors, topk)
        timings["encode_synthetic"] += t1 - t0
        timings["search"] += time.perf_counter() - t1
        yield sources, texts, times, cosines, ids


def _threshold(scores: sp.csr_matrix, tau: float, binary: bool) -> sp.csr_matrix:
    kept = scores.copy()
    kept.data[kept.data < np.float32(tau)] = 0
    kept.eliminate_zeros()
    if binary:
        kept.data[:] = 1
    return kept


def _examples(proposal: Proposal, tau: float, direction: str) -> list[dict]:
    """The first synthetic texts with the (query, label) pairs they produced at ``tau``."""
    out = []
    for ex in proposal.examples:
        pairs = []
        for target, score in ex["neighbours"]:
            if score >= np.float32(tau) and target >= 0:
                row, col = (
                    (ex["source"], target)
                    if direction == QUERIES_TO_LABELS
                    else (target, ex["source"])
                )
                pairs.append([row, col, round(score, 4)])
        out.append({"source": ex["source"], "text": ex["text"], "pairs": pairs})
    return out


def _apply_filters(dataset: Dataset, proposal: Proposal, levers: dict, engine: dict) -> dict:
    """Drop the proposed pairs the precision levers reject; return what each removed."""
    removed = {}
    if levers["min_votes"] > 1:
        before = proposal.scores.nnz
        proposal.scores = keep_voted(proposal.scores, proposal.votes, levers["min_votes"])
        removed["removed_by_votes"] = before - proposal.scores.nnz
    if levers["agree_with"] is not None:
        t0 = time.perf_counter()
        ranked, _ = ranked_by_learner(
            dataset, levers["agree_with"], levers["agree_topk"],
            cache_dir=engine["cache_dir"], device=engine["device"],
        )  # fmt: skip
        before = proposal.scores.nnz
        proposal.scores = keep_ranked(proposal.scores, ranked)
        removed["removed_by_agreement"] = before - proposal.scores.nnz
        proposal.timings["agreement"] = time.perf_counter() - t0
    return removed


def _propose_and_measure(
    dataset: Dataset,
    synthetic: str | os.PathLike,
    direction: str,
    taus: tuple[float, ...],
    observed,
    known,
    known_rows,
    require_known: bool,
    engine: dict,
    levers: dict,
) -> tuple[sp.csr_matrix, dict, KnownLabels | None, Proposal, list[dict]]:
    """Resolve the inputs, map once at ``min(taus)``, apply the levers and measure every tau."""
    obs, obs_info = _resolve_observed(dataset, observed)
    known_labels = resolve_known(dataset, known, known_rows)
    if require_known and known_labels is None:
        raise SkimError(
            f"{require_known} needs rows with known complete labels: pass known (the "
            "teacher's seed matrix) or use a dataset with trn_X_Y_unbiased.npz"
        )
    proposal = propose_pairs(
        dataset, synthetic, direction, floor=taus[0], taus=taus,
        count_votes=levers["min_votes"] > 1, **engine,
    )  # fmt: skip
    proposal.counts.update(_apply_filters(dataset, proposal, levers, engine))
    table = tau_table(proposal.scores, taus, obs, dataset.trn_X_Y, known_labels)
    for row in table:
        row["pairs_proposed"] = proposal.hits_at[row["tau"]]
    return obs, obs_info, known_labels, proposal, table


def map_synthetic(
    dataset: Dataset | str | os.PathLike,
    synthetic: str | os.PathLike,
    direction: str,
    observed: sp.spmatrix | str | os.PathLike | None = None,
    encoder: TextEncoder | str | None = None,
    index: str = "auto",
    topk: int = 10,
    tau: float | str = 0.8,
    binary: bool = False,
    target_precision: float | None = None,
    known: sp.spmatrix | str | os.PathLike | None = None,
    known_rows: np.ndarray | list[int] | str | os.PathLike | None = None,
    min_known_pairs: int = MIN_KNOWN_PAIRS,
    tau_grid: tuple[float, ...] = DEFAULT_TAU_GRID,
    min_votes: int = 1,
    agree_with: sp.spmatrix | str | os.PathLike | None = None,
    agree_topk: int = DEFAULT_AGREE_TOPK,
    calibrated: bool = False,
    cache_dir: str | os.PathLike | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    index_params: dict | None = None,
    device: str | None = None,
    progress: bool = False,
    ray: RayOptions | None = None,
) -> tuple[sp.csr_matrix, dict]:
    """Map the synthetic texts of ``synthetic`` onto real texts; return the new train labels.

    Parameters
    ----------
    dataset
        The dataset (or its directory); its train queries or labels are the targets.
    synthetic
        SYNTHETIC.jsonl: ``{"source": int, "texts": [...]}`` per line.
    direction
        ``"queries-to-labels"``: texts are proposed labels of train query ``source``, their
        neighbours are labels. ``"labels-to-queries"``: texts are queries written for label
        ``source``, their neighbours are train queries.
    observed
        Labels the result is united with (matrix or path); default ``dataset.trn_X_Y``. Pass
        the teacher's seed matrix to keep the seed rows' gold labels.
    encoder
        A :class:`~skim.encode.TextEncoder`, a sentence-transformers name or path, a skim dual
        model folder, or None for the bundled all-MiniLM-L6-v2.
    index
        ``"auto"``, ``"exact"``, ``"hnsw"`` or ``"faiss"`` (see :func:`skim.index.build_index`);
        ``index_params`` go to it (``M``, ``ef_construction``, ``ef``, ...).
    topk
        Neighbours per synthetic text.
    tau
        Minimum score ``(cos + 1) / 2`` of a kept neighbour, or ``"auto"``: the smallest tau of
        ``tau_grid`` whose precision on the rows with known complete labels reaches
        ``target_precision`` (see :func:`skim.map.tau.choose_tau`).
    binary
        Store 1 for the mapped pairs instead of their scores.
    known, known_rows
        Rows with complete labels for precision estimates (see
        :func:`skim.map.tau.resolve_known`); default the dataset's ``trn_X_Y_unbiased``.
    min_votes
        Keep a pair only if at least this many of its source's texts have it among their
        top-k neighbours scoring at least ``min(tau)`` (a text repeated for its source, e.g.
        sampled completions that agree, counts each time).
    agree_with
        Keep a pair only if this learner ranks the label among its ``agree_topk`` labels
        for the query: a :func:`skim.learners.train` folder (trained on the observed labels
        + seed) or a matrix of the accepted pairs.
    calibrated
        Store for each kept pair the precision estimated at its score on the known rows
        (isotonic regression, see :mod:`skim.map.calibration`) instead of the score; pairs
        estimated at 0 are dropped. Needs known rows.
    cache_dir
        Embedding cache; default ``$SKIM_CACHE_DIR`` or ``~/.cache/skim``.
    ray
        Encode and search on a Ray cluster (:class:`skim.scale.cluster.RayOptions`); the
        result is the same as in one process.

    Returns
    -------
    matrix, manifest
        ``N_trn x L`` float32 CSR, a superset of ``observed`` with every clicked value kept or
        raised; and the manifest (settings, inputs, counts, tau estimate, timings, examples).
        Counts: ``texts`` read, ``empty_skipped``, ``duplicate_skipped`` (same text for the
        same source within a chunk), ``texts_used``, ``neighbours_searched`` (hits examined),
        ``pairs_proposed`` (hits >= tau, before aggregation), ``pairs_kept`` (distinct
        pairs >= tau), ``new_pairs`` (kept pairs not stored in ``observed``),
        ``rows_touched`` / ``labels_touched`` (rows and labels gaining a new pair),
        ``observed_pairs`` and ``output_pairs``.
    """
    started = time.perf_counter()
    dataset = _as_dataset(dataset)
    _check_settings(direction, topk, tau, target_precision, min_votes, agree_topk)
    if binary and calibrated:
        raise SkimError("choose binary or calibrated values, not both")
    grid = tuple(sorted(tau_grid)) if tau == "auto" else (float(tau),)
    engine = dict(
        encoder=encoder, index=index, topk=topk, cache_dir=cache_dir, chunk_size=chunk_size,
        index_params=index_params, device=device, progress=progress, ray=ray,
    )  # fmt: skip
    levers = dict(min_votes=min_votes, agree_with=agree_with, agree_topk=agree_topk)
    needs_known = "tau 'auto'" if tau == "auto" else "calibrated" if calibrated else ""
    obs, obs_info, known_labels, proposal, table = _propose_and_measure(
        dataset, synthetic, direction, grid, observed, known, known_rows, needs_known, engine,
        levers,
    )  # fmt: skip
    chosen = choose_tau(table, target_precision, min_known_pairs) if tau == "auto" else table[0]
    final_tau = chosen["tau"]

    t0 = time.perf_counter()
    kept = _threshold(proposal.scores, final_tau, binary)
    calibration = None
    if calibrated:
        kept, calibration = _calibrate(kept, dataset.trn_X_Y, known_labels)
    result = canonical(obs.maximum(kept))
    new_keys = pair_keys(kept)
    new_keys = new_keys[~contains(pair_keys(obs), new_keys)]
    n_cols = dataset.n_labels
    counts = dict(
        proposal.counts,
        pairs_proposed=chosen["pairs_proposed"],
        pairs_kept=int(kept.nnz),
        new_pairs=int(len(new_keys)),
        rows_touched=int(len(np.unique(new_keys // n_cols))),
        labels_touched=int(len(np.unique(new_keys % n_cols))),
        observed_pairs=int(obs.nnz),
        output_pairs=int(result.nnz),
    )
    timings = dict(proposal.timings, unite=time.perf_counter() - t0)
    timings["total"] = time.perf_counter() - started
    manifest = {
        "stage": "map",
        "skim_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "settings": {
            "direction": direction,
            "topk": int(topk),
            "tau": final_tau,
            "tau_requested": tau if tau == "auto" else float(tau),
            "target_precision": target_precision,
            "min_known_pairs": int(min_known_pairs) if tau == "auto" else None,
            "binary": bool(binary),
            "calibrated": bool(calibrated),
            "min_votes": int(min_votes),
            "agree_with": (
                None
                if agree_with is None
                else os.fspath(agree_with)
                if isinstance(agree_with, (str, os.PathLike))
                else "matrix"
            ),
            "agree_topk": int(agree_topk) if agree_with is not None else None,
            "score": "(cos + 1) / 2",
            "encoder": proposal.encoder_id,
            "chunk_size": int(chunk_size),
        },
        "index": proposal.index_params,
        "inputs": _inputs(dataset, synthetic, direction, obs_info, known_labels),
        "counts": counts,
        "tau_estimate": chosen if known_labels is not None else None,
        "tau_table": table if tau == "auto" else None,
        "calibration": calibration,
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
        "examples": _examples(proposal, final_tau, direction),
    }
    return result, manifest


def _calibrate(
    kept: sp.csr_matrix, clicks: sp.csr_matrix, known: KnownLabels
) -> tuple[sp.csr_matrix, dict]:
    """Replace the kept pairs' scores by the precision estimated at them on the known rows.

    The curve is fitted on the kept pairs of the known rows that are not clicks (those the
    guard measures), so its mean there equals the guard's precision estimate.
    """
    keys = pair_keys(kept)
    n_cols = kept.shape[1]
    on_known = contains(known.rows, keys // n_cols) & ~contains(pair_keys(clicks), keys)
    if not on_known.any():  # the guard's case: nothing measured, so nothing is added
        raise TauUnreachable(
            "calibrated values need new pairs on the rows with known complete labels, and "
            "the mapping adds none there; give more known rows or lower tau"
        )
    correct = contains(pair_keys(known.complete), keys[on_known])
    starts, values = isotonic_fit(kept.data[on_known], correct)
    out = kept.copy()
    out.data = calibrated_values(kept.data, starts, values)
    out.eliminate_zeros()
    steps = [[round(float(a), 6), round(float(v), 6)] for a, v in zip(starts, values, strict=True)]
    return out, {"fitted_on": int(on_known.sum()), "steps": steps}


def _inputs(
    dataset: Dataset,
    synthetic: str | os.PathLike,
    direction: str,
    observed_info: dict,
    known: KnownLabels | None,
) -> dict:
    to_labels = direction == QUERIES_TO_LABELS
    targets = dataset.label_texts if to_labels else dataset.trn_texts
    return {
        "dataset": str(dataset.path) if dataset.path else None,
        "targets": {
            "file": "Y.txt" if to_labels else "trn_X.txt",
            "count": len(targets),
            "sha256": texts_fingerprint(targets),
        },
        "synthetic": {"path": str(synthetic), "sha256": file_fingerprint(synthetic)},
        "observed": observed_info,
        "clicks_sha256": (
            observed_info["sha256"]
            if observed_info["origin"] == "trn_X_Y"
            else matrix_fingerprint(dataset.trn_X_Y)
        ),
        "known": known.describe() if known is not None else None,
    }


def sweep_tau(
    dataset: Dataset | str | os.PathLike,
    synthetic: str | os.PathLike,
    direction: str,
    taus: tuple[float, ...] | list[float] = (0.6, 0.7, 0.8, 0.9),
    observed: sp.spmatrix | str | os.PathLike | None = None,
    encoder: TextEncoder | str | None = None,
    index: str = "auto",
    topk: int = 10,
    known: sp.spmatrix | str | os.PathLike | None = None,
    known_rows: np.ndarray | list[int] | str | os.PathLike | None = None,
    min_votes: int = 1,
    agree_with: sp.spmatrix | str | os.PathLike | None = None,
    agree_topk: int = DEFAULT_AGREE_TOPK,
    cache_dir: str | os.PathLike | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    index_params: dict | None = None,
    device: str | None = None,
    progress: bool = False,
    ray: RayOptions | None = None,
) -> list[dict]:
    """How many new pairs each tau adds and, on rows with known labels, how good they are.

    One mapping pass at ``min(taus)``; nothing is written. Returns the rows of
    :func:`skim.map.tau.tau_table` (``tau``, ``new_pairs``, ``precision``, ``recovered``,
    ...); precision and recovered are None without known rows. Other parameters are those of
    :func:`map_synthetic`.
    """
    dataset = _as_dataset(dataset)
    taus = tuple(sorted(float(t) for t in taus))
    if not taus or taus[0] < 0 or taus[-1] > 1:
        raise SkimError(f"sweep taus must be numbers in [0, 1], got {list(taus)}")
    _check_settings(direction, topk, taus[0], None, min_votes, agree_topk)
    engine = dict(
        encoder=encoder, index=index, topk=topk, cache_dir=cache_dir, chunk_size=chunk_size,
        index_params=index_params, device=device, progress=progress, ray=ray,
    )  # fmt: skip
    levers = dict(min_votes=min_votes, agree_with=agree_with, agree_topk=agree_topk)
    *_, table = _propose_and_measure(
        dataset, synthetic, direction, taus, observed, known, known_rows, "", engine, levers
    )
    return table


def manifest_path(out_path: str | os.PathLike) -> Path:
    """``OUT.manifest.json`` beside ``OUT.npz`` (or ``OUT.txt``)."""
    out_path = Path(out_path)
    return out_path.with_name(f"{out_path.stem}.manifest.json")


def write_mapping(out_path: str | os.PathLike, matrix: sp.spmatrix, manifest: dict) -> Path:
    """Write ``OUT.npz`` (or XC text for ``.txt``) and then ``OUT.manifest.json``, atomically.

    The manifest is written last and records the output's fingerprint, so its presence means
    the matrix is complete.
    """
    out_path = Path(out_path)
    save_matrix(out_path, matrix)
    manifest = dict(manifest, output={"path": str(out_path), "sha256": file_fingerprint(out_path)})
    path = manifest_path(out_path)
    write_json_atomic(path, manifest)
    return path
