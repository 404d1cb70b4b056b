"""SKIM step 2: map synthetic texts onto real texts and turn the neighbours into label pairs.

Each synthetic text is encoded, its top-k nearest targets (train queries, or labels) are found
by cosine, scored ``(cos + 1) / 2`` and kept when the score reaches tau; a (query, label) pair
gets the maximum score over the texts proposing it, and the result is united with the observed
labels (value = max(observed, score)) so that no click is ever lost.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from skim import __version__
from skim._io import file_fingerprint, texts_fingerprint, write_json_atomic
from skim.argtypes import check_positive_int
from skim.data import Dataset, as_dataset, canonical, load_matrix, save_matrix
from skim.direction import QUERIES_TO_LABELS, check_direction, target_file, target_texts
from skim.encode import default_cache_dir, encode_texts, resolve_encoder
from skim.errors import SkimError
from skim.index import build_index
from skim.map.calibration import calibrated_values, isotonic_fit
from skim.map.filters import keep_ranked, keep_voted, ranked_by_learner
from skim.map.pairs import (
    PairAccumulator,
    PairCounter,
    cosine_to_score,
    hits_to_pairs,
)
from skim.map.params import DEFAULT_AGREE_TOPK, MapParams
from skim.map.synthetic import SyntheticFile
from skim.map.tau import (
    KnownLabels,
    TauUnreachable,
    choose_tau,
    known_candidates,
    resolve_known,
    tau_table,
)
from skim.pairs import contains, matrix_fingerprint, pair_keys
from skim.records import manifest_path

N_EXAMPLES = 10
N_REJECTED = 3  # best neighbours below tau kept per example


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1).astype(np.float32)


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


def _check_settings(
    direction: str,
    topk: int,
    tau: Any,
    target_precision: Any,
    min_votes: Any = 1,
    agree_topk: Any = DEFAULT_AGREE_TOPK,
) -> None:
    check_direction(direction)
    check_positive_int("topk", topk)
    check_positive_int("min_votes", min_votes)
    check_positive_int("agree_topk", agree_topk)
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
    params: MapParams | None = None,
    *,
    floor: float = 0.8,
    taus: tuple[float, ...] = (),
    count_votes: bool = False,
    **settings: Any,
) -> Proposal:
    """One pass: encode targets, index them, stream the synthetic texts, max-aggregate hits.

    Memory holds the target index, one chunk of synthetic texts and the aggregated pairs with
    score >= ``floor``. Embeddings are cached by content in ``params.cache_dir``, so a rerun
    (or a run after a crash) does not encode again. ``taus`` lists thresholds at which to also
    count the raw hits (text, neighbour) before aggregation. ``count_votes`` also counts how
    many texts propose each pair (hits >= ``floor``; a text repeated for its source counts
    each time). Of ``params`` (and ``settings``, its fields as keywords) the encoder, index,
    topk, chunk_size, index_params, cache_dir, device, progress and ray are used; with
    ``ray`` the encoding and search run in a Ray actor pool (:mod:`skim.map.ray_map`), same
    result.
    """
    p = MapParams.build(params, "propose_pairs", **settings)
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
    enc, idx, target_vectors, index_params = _target_index(targets, p, timings)
    scan = _Scan((dataset.n_trn, dataset.n_labels), floor, taus, count_votes, direction)
    timings.update(encode_synthetic=0.0, search=0.0)
    chunks = synth.counted_chunks(p.chunk_size, progress=p.progress and p.ray is None)
    if p.ray is None:
        searched_chunks = _search_chunks(chunks, enc, idx, p, timings)
    else:
        from skim.map.ray_map import search_on_ray

        searched_chunks = search_on_ray(chunks, idx, target_vectors, index_params, p, timings)
    for sources, texts, times, cosines, ids in searched_chunks:
        scan.add(sources, texts, times, cosines, ids)
    t0 = time.perf_counter()
    scores_matrix, votes = scan.result()
    timings["aggregate"] = scan.seconds + time.perf_counter() - t0
    counts = dict(synth.counts, neighbours_searched=scan.searched)
    hits = {round(float(t), 6): int(h) for t, h in zip(scan.marks, scan.hits_at, strict=True)}
    return Proposal(
        scores_matrix, float(floor), counts, hits, idx.params(), enc.id, timings, scan.examples,
        votes,
    )  # fmt: skip


def _target_index(targets: list[str], p: MapParams, timings: dict[str, float]):
    """The encoder, the index of the normalised target embeddings, those embeddings and the
    index's settings (timed in ``timings``); on Ray (``p.ray``) the actor pool encodes the
    targets the cache lacks when they are more than one chunk."""
    t0 = time.perf_counter()
    enc = resolve_encoder(p.encoder, **({"device": p.device} if p.device else {}))
    timings["load_encoder"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ray = p.ray if len(targets) > p.chunk_size else None  # one chunk: no faster on one actor
    target_vectors = _normalise(encode_texts(enc, targets, p.cache_dir, ray))
    timings["encode_targets"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    params = dict(p.index_params or {})
    if p.device and p.index in ("auto", "exact"):
        params.setdefault("device", p.device)
    index_cache = Path(p.cache_dir or default_cache_dir())
    idx = build_index(target_vectors, kind=p.index, cache_dir=index_cache, **params)
    timings["build_index"] = time.perf_counter() - t0
    return enc, idx, target_vectors, params


def _search_chunks(chunks, enc, idx, p: MapParams, timings: dict[str, float]):
    """Encode and search each chunk in this process: ``(sources, texts, times, cos, ids)``,
    the seconds added to ``timings["encode_synthetic"]`` and ``timings["search"]``."""
    for sources, texts, times in chunks:
        t0 = time.perf_counter()
        vectors = _normalise(encode_texts(enc, texts, p.cache_dir))
        t1 = time.perf_counter()
        cosines, ids = idx.search(vectors, p.topk)
        timings["encode_synthetic"] += t1 - t0
        timings["search"] += time.perf_counter() - t1
        yield sources, texts, times, cosines, ids


class _Scan:
    """What the stream of searched chunks adds up to: the aggregated pairs (and their votes),
    the raw hits at each mark, the first examples, and the seconds spent aggregating."""

    def __init__(
        self, shape: tuple[int, int], floor: float, taus: tuple[float, ...], votes: bool,
        direction: str,
    ) -> None:  # fmt: skip
        self.shape, self.floor, self.direction = shape, floor, direction
        self.acc = PairAccumulator(shape)
        self.counter = PairCounter(shape) if votes else None
        self.marks = np.asarray(sorted(set(taus) | {floor}), dtype=np.float32)
        self.hits_at = np.zeros(len(self.marks), dtype=np.int64)
        self.examples: list[dict] = []
        self.searched = 0
        self.seconds = 0.0

    def add(self, sources, texts, times, cosines, ids) -> None:
        """Aggregate a searched chunk's hits (its texts' top-k cosines and target ids)."""
        t0 = time.perf_counter()
        scores = cosine_to_score(cosines)
        scores[ids < 0] = 0
        self.searched += int(np.count_nonzero(ids >= 0))
        valid = np.sort(scores[ids >= 0])
        self.hits_at += len(valid) - np.searchsorted(valid, self.marks, side="left")
        rows, cols, values = hits_to_pairs(sources, scores, ids, self.floor, self.direction)
        self.acc.add(rows, cols, values)
        if self.counter is not None:  # same row-major order as hits_to_pairs' hits
            hit = (scores >= np.float32(self.floor)) & (ids >= 0)
            self.counter.add(rows, cols, np.broadcast_to(times[:, None], ids.shape)[hit])
        self._keep_examples(sources, texts, scores, ids)
        self.seconds += time.perf_counter() - t0

    def _keep_examples(self, sources, texts, scores, ids) -> None:
        """The first text of each of the first :data:`N_EXAMPLES` sources, with neighbours."""
        if len(self.examples) >= N_EXAMPLES:
            return
        seen = {ex["source"] for ex in self.examples}
        for i in np.flatnonzero(np.r_[True, sources[1:] != sources[:-1]]):
            if len(self.examples) < N_EXAMPLES and int(sources[i]) not in seen:
                seen.add(int(sources[i]))
                neighbours = zip(ids[i].tolist(), scores[i].tolist(), strict=True)
                self.examples.append(
                    {"source": int(sources[i]), "text": texts[i], "neighbours": list(neighbours)}
                )

    def result(self) -> tuple[sp.csr_matrix, np.ndarray | None]:
        """The aggregated scores, and each stored pair's votes when counted."""
        scores = self.acc.matrix()
        if self.counter is None:
            return scores, None
        rows = np.repeat(np.arange(self.shape[0], dtype=np.int64), np.diff(scores.indptr))
        keys = rows * self.shape[1] + scores.indices.astype(np.int64)
        return scores, self.counter.counts_of(keys)


def _threshold(scores: sp.csr_matrix, tau: float, binary: bool) -> sp.csr_matrix:
    kept = scores.copy()
    kept.data[kept.data < np.float32(tau)] = 0
    kept.eliminate_zeros()
    if binary:
        kept.data[:] = 1
    return kept


def _examples(proposal: Proposal, tau: float, direction: str) -> list[dict]:
    """The first synthetic texts with the (query, label) pairs they produced at ``tau``, and
    their best ``rejected`` neighbours below ``tau`` (why a text added nothing)."""
    out = []
    for ex in proposal.examples:
        pairs, rejected = [], []
        for target, score in sorted(ex["neighbours"], key=lambda n: -n[1]):
            if target < 0:
                continue
            row, col = (
                (ex["source"], target) if direction == QUERIES_TO_LABELS else (target, ex["source"])
            )
            kept = score >= np.float32(tau)
            if kept or len(rejected) < N_REJECTED:
                (pairs if kept else rejected).append([row, col, round(score, 4)])
        out.append(
            {"source": ex["source"], "text": ex["text"], "pairs": pairs, "rejected": rejected}
        )
    return out


def _apply_filters(dataset: Dataset, proposal: Proposal, levers: dict, engine: MapParams) -> dict:
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
            cache_dir=engine.cache_dir, device=engine.device,
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
    engine: MapParams,
    levers: dict,
    sweep: tuple[float, ...] = (),
) -> tuple[sp.csr_matrix, dict, KnownLabels | None, Proposal, list[dict]]:
    """Resolve the inputs, map once at ``min(taus)``, apply the levers and measure every tau;
    ``sweep``: more taus to measure, only where some rows' complete labels are known."""
    obs, obs_info = _resolve_observed(dataset, observed)
    known_labels = resolve_known(dataset, known, known_rows)
    if require_known and known_labels is None:
        raise SkimError(
            f"{require_known} needs rows with known complete labels: pass known (the "
            "teacher's seed matrix) or use a dataset with trn_X_Y_unbiased.npz"
        )
    if known_labels is not None and len(known_labels.rows):
        taus = tuple(sorted(set(taus) | set(sweep)))
    proposal = propose_pairs(
        dataset, synthetic, direction, engine, floor=taus[0], taus=taus,
        count_votes=levers["min_votes"] > 1,
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
    params: MapParams | None = None,
    *,
    observed: sp.spmatrix | str | os.PathLike | None = None,
    known: sp.spmatrix | str | os.PathLike | None = None,
    known_rows: np.ndarray | list[int] | str | os.PathLike | None = None,
    agree_with: sp.spmatrix | str | os.PathLike | None = None,
    **settings: Any,
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
    params, **settings
        A :class:`~skim.map.params.MapParams` (encoder, index, topk, tau, target_precision,
        binary, calibrated, min_votes, agree_topk, ...), and any of its fields as keywords,
        which override it.
    observed
        Labels the result is united with (matrix or path); default ``dataset.trn_X_Y``. Pass
        the teacher's seed matrix to keep the seed rows' gold labels.
    known, known_rows
        Rows with complete labels for precision estimates (see
        :func:`skim.map.tau.resolve_known`); default the dataset's ``trn_X_Y_unbiased``.
    agree_with
        Keep a pair only if this learner ranks the label among its ``agree_topk`` labels
        for the query: a :func:`skim.learners.train` folder (trained on the observed labels
        + seed) or a matrix of the accepted pairs.

    Returns
    -------
    matrix, manifest
        ``N_trn x L`` float32 CSR, a superset of ``observed`` with every clicked value kept or
        raised; and the manifest (settings, inputs, counts, tau estimate, timings, examples,
        and with known rows the tau table: every tau of ``tau_grid`` measured from the same
        pass, beside a fixed tau too, see :func:`_sweep_around`).
        Counts: ``texts`` read, ``empty_skipped``, ``duplicate_skipped`` (same text for the
        same source within a chunk), ``texts_used``, ``neighbours_searched`` (hits examined),
        ``pairs_proposed`` (hits >= tau, before aggregation), ``pairs_kept`` (distinct pairs
        >= tau), ``new_pairs`` (kept pairs not in ``observed``), ``rows_touched`` /
        ``labels_touched`` (gaining a new pair), ``observed_pairs`` and ``output_pairs``.
    """
    started = time.perf_counter()
    p = MapParams.build(params, "map_synthetic", **settings)
    dataset = as_dataset(dataset)
    _check_settings(direction, p.topk, p.tau, p.target_precision, p.min_votes, p.agree_topk)
    auto = p.tau == "auto"
    grid = tuple(sorted(p.tau_grid)) if auto else (float(p.tau),)
    needs_known = "tau 'auto'" if auto else "calibrated" if p.calibrated else ""
    obs, obs_info, known_labels, proposal, table = _propose_and_measure(
        dataset, synthetic, direction, grid, observed, known, known_rows, needs_known,
        p, _levers(p, agree_with), () if auto else _sweep_around(p, agree_with),
    )  # fmt: skip
    if auto:
        chosen = choose_tau(table, p.target_precision, p.min_known_pairs)
    else:
        chosen = next(r for r in table if r["tau"] == round(float(np.float32(p.tau)), 6))
    t0 = time.perf_counter()
    kept, calibration = _keep(proposal, chosen["tau"], p, dataset.trn_X_Y, known_labels)
    result = canonical(obs.maximum(kept))
    timings = dict(proposal.timings, unite=time.perf_counter() - t0)
    timings["total"] = time.perf_counter() - started
    manifest = {
        "stage": "map",
        "skim_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "settings": _manifest_settings(p, direction, chosen["tau"], agree_with, proposal),
        "index": proposal.index_params,
        "inputs": _inputs(dataset, synthetic, direction, obs_info, known_labels),
        "counts": _counts(proposal, chosen, kept, obs, result, dataset.n_labels),
        "tau_estimate": chosen if known_labels is not None else None,
        "tau_table": table if known_labels is not None and len(known_labels.rows) else None,
        "calibration": calibration,
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
        "examples": _examples(proposal, chosen["tau"], direction),
    }
    return result, manifest


def _sweep_around(p: MapParams, agree_with: Any) -> tuple[float, ...]:
    """The taus measured beside a fixed tau (for the report's tau sweep): those of
    ``tau_grid``, from the same mapping pass, now at the lowest of them. With a filter lever on,
    only those above tau: votes and the removal counts are taken at the pass's lowest tau, so a
    lower one would change what a fixed tau keeps and reports."""
    levers = p.min_votes > 1 or agree_with is not None
    return tuple(t for t in p.tau_grid if not levers or t >= float(p.tau))


def _keep(
    proposal: Proposal, tau: float, p: MapParams, clicks: sp.csr_matrix, known: Any
) -> tuple[sp.csr_matrix, dict | None]:
    """The proposed pairs scoring at least ``tau`` (as 1, their score, or their calibrated
    precision), and the calibration curve when calibrated."""
    kept = _threshold(proposal.scores, tau, p.binary)
    return _calibrate(kept, clicks, known) if p.calibrated else (kept, None)


def _levers(p: MapParams, agree_with: Any) -> dict[str, Any]:
    """The settings of the precision levers (:func:`_apply_filters`)."""
    return dict(min_votes=p.min_votes, agree_with=agree_with, agree_topk=p.agree_topk)


def _counts(
    proposal: Proposal,
    chosen: dict,
    kept: sp.csr_matrix,
    obs: sp.csr_matrix,
    result: sp.csr_matrix,
    n_cols: int,
) -> dict[str, int]:
    """The manifest's counts: what was read and proposed, kept, and new over ``obs``."""
    new_keys = pair_keys(kept)
    new_keys = new_keys[~contains(pair_keys(obs), new_keys)]
    return dict(
        proposal.counts,
        pairs_proposed=chosen["pairs_proposed"],
        pairs_kept=int(kept.nnz),
        new_pairs=int(len(new_keys)),
        rows_touched=int(len(np.unique(new_keys // n_cols))),
        labels_touched=int(len(np.unique(new_keys % n_cols))),
        observed_pairs=int(obs.nnz),
        output_pairs=int(result.nnz),
    )


def _manifest_settings(
    p: MapParams, direction: str, final_tau: float, agree_with: Any, proposal: Proposal
) -> dict[str, Any]:
    """The manifest's settings: what was asked and what was chosen (tau, encoder)."""
    auto = p.tau == "auto"
    if agree_with is None or isinstance(agree_with, (str, os.PathLike)):
        agree = None if agree_with is None else os.fspath(agree_with)
    else:
        agree = "matrix"
    return {
        "direction": direction,
        "topk": int(p.topk),
        "tau": final_tau,
        "tau_requested": p.tau if auto else float(p.tau),
        "target_precision": p.target_precision,
        "min_known_pairs": int(p.min_known_pairs) if auto else None,
        "binary": bool(p.binary),
        "calibrated": bool(p.calibrated),
        "min_votes": int(p.min_votes),
        "agree_with": agree,
        "agree_topk": int(p.agree_topk) if agree_with is not None else None,
        "score": "(cos + 1) / 2",
        "encoder": proposal.encoder_id,
        "chunk_size": int(p.chunk_size),
    }


def _calibrate(
    kept: sp.csr_matrix, clicks: sp.csr_matrix, known: KnownLabels
) -> tuple[sp.csr_matrix, dict]:
    """Replace the kept pairs' scores by the precision estimated at them on the known rows.

    The curve is fitted on the kept pairs of the known rows that are not clicks (those the
    guard measures), so its mean there equals the guard's precision estimate.
    """
    on_known, right = known_candidates(
        pair_keys(kept), kept.shape[1], pair_keys(clicks), known, pair_keys(known.complete)
    )
    if not on_known.any():  # the guard's case: nothing measured, so nothing is added
        raise TauUnreachable(
            "calibrated values need new pairs on the rows with known complete labels, and "
            "the mapping adds none there; give more known rows or lower tau"
        )
    starts, values = isotonic_fit(kept.data[on_known], right[on_known])
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
    targets = target_texts(dataset, direction)
    return {
        "dataset": str(dataset.path) if dataset.path else None,
        "targets": {
            "file": target_file(direction),
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
    params: MapParams | None = None,
    *,
    observed: sp.spmatrix | str | os.PathLike | None = None,
    known: sp.spmatrix | str | os.PathLike | None = None,
    known_rows: np.ndarray | list[int] | str | os.PathLike | None = None,
    agree_with: sp.spmatrix | str | os.PathLike | None = None,
    **settings: Any,
) -> list[dict]:
    """How many new pairs each tau adds and, on rows with known labels, how good they are.

    One mapping pass at ``min(taus)``; nothing is written. Returns the rows of
    :func:`skim.map.tau.tau_table` (``tau``, ``new_pairs``, ``precision``, ``recovered``,
    ...); precision and recovered are None without known rows. Other parameters are those of
    :func:`map_synthetic` (of ``params``, the tau settings are not used).
    """
    p = MapParams.build(params, "sweep_tau", **settings)
    dataset = as_dataset(dataset)
    taus = tuple(sorted(float(t) for t in taus))
    if not taus or taus[0] < 0 or taus[-1] > 1:
        raise SkimError(f"sweep taus must be numbers in [0, 1], got {list(taus)}")
    _check_settings(direction, p.topk, taus[0], None, p.min_votes, p.agree_topk)
    *_, table = _propose_and_measure(
        dataset, synthetic, direction, taus, observed, known, known_rows, "", p,
        _levers(p, agree_with),
    )  # fmt: skip
    return table


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
