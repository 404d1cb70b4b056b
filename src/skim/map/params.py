"""Every setting of the mapping (:func:`skim.map.map_synthetic`), with its default, once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from skim._params import StageParams, runtime
from skim.errors import SkimError
from skim.map.synthetic import DEFAULT_CHUNK_SIZE
from skim.map.tau import DEFAULT_TAU_GRID, MIN_KNOWN_PAIRS

if TYPE_CHECKING:
    from skim.scale.cluster import RayOptions

DEFAULT_AGREE_TOPK = 20
"""With ``agree_with``: a pair is kept if the learner ranks its label in this many per query."""


@dataclass
class MapParams(StageParams):
    """Settings of :func:`skim.map.map_synthetic` and :func:`skim.map.sweep_tau`.

    Parameters
    ----------
    encoder
        A :class:`~skim.encode.TextEncoder`, a sentence-transformers name or path, a skim dual
        model folder, or None for the bundled all-MiniLM-L6-v2.
    index, index_params
        ``"auto"``, ``"exact"``, ``"hnsw"`` or ``"faiss"`` (see :func:`skim.index.build_index`)
        and its settings (``M``, ``ef_construction``, ``ef``, ...).
    topk
        Neighbours per synthetic text.
    tau
        Minimum score ``(cos + 1) / 2`` of a kept neighbour, or ``"auto"``: the smallest tau of
        ``tau_grid`` whose precision on the rows with known complete labels reaches
        ``target_precision`` over at least ``min_known_pairs`` pairs (see
        :func:`skim.map.tau.choose_tau`).
    binary
        Store 1 for the mapped pairs instead of their scores.
    min_votes
        Keep a pair only if at least this many of its source's texts have it among their
        top-k neighbours scoring at least ``min(tau)`` (a text repeated for its source, e.g.
        sampled completions that agree, counts each time).
    agree_topk
        With ``agree_with``: keep a pair only if that learner ranks the label among its
        ``agree_topk`` labels for the query.
    calibrated
        Store for each kept pair the precision estimated at its score on the known rows
        (isotonic regression, see :mod:`skim.map.calibration`) instead of the score; pairs
        estimated at 0 are dropped. Needs known rows.
    chunk_size
        Synthetic texts encoded and searched at a time.
    cache_dir, device, progress
        Embedding cache (default ``$SKIM_CACHE_DIR`` or ``~/.cache/skim``), torch device, and
        a progress bar.
    ray
        Encode and search on a Ray cluster (:class:`skim.scale.cluster.RayOptions`, see
        :mod:`skim.map.ray_map`); None: in this process. The result is the same, so it is a
        runtime field, out of :meth:`to_dict`.
    """

    encoder: Any = None
    index: str = "auto"
    topk: int = 10
    tau: float | str = 0.8
    binary: bool = False
    target_precision: float | None = None
    min_known_pairs: int = MIN_KNOWN_PAIRS
    tau_grid: tuple[float, ...] = DEFAULT_TAU_GRID
    min_votes: int = 1
    agree_topk: int = DEFAULT_AGREE_TOPK
    calibrated: bool = False
    chunk_size: int = DEFAULT_CHUNK_SIZE
    index_params: dict | None = None
    cache_dir: str | os.PathLike | None = runtime()
    device: str | None = runtime()
    progress: bool = runtime(False)
    ray: RayOptions | None = runtime()

    def __post_init__(self) -> None:
        if self.binary and self.calibrated:
            raise SkimError("choose binary or calibrated values, not both")
