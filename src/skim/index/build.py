"""One entry point for every index kind: ``build_index(vectors, kind, **params)``.

The kinds are registered in :data:`INDEX_KINDS` with their class and the settings they take;
``skim map --index``, the config's ``[map] index`` and :func:`build_index` read it. Adding a
backend: a module with a class like :class:`skim.index.exact.ExactIndex` (``search``,
``params``, ``len``), then one ``INDEX_KINDS.register(...)`` line below.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from skim._io import atomic_path
from skim.errors import SkimError
from skim.registry import Registry, load

AUTO_EXACT_MAX = 100_000
"""``kind="auto"`` searches exactly up to this many targets, with hnswlib above it.

At 100,000 targets (384-d, 2 CPU cores) exact search costs 1.8 ms of CPU per query against
1.4 ms for hnswlib at ef 64, and building the graph costs 350 s, so exact wins below
hundreds of thousands of queries; past this size the graph's logarithmic search pays off."""


class Index(Protocol):
    """What the mapping and the learners need from an index."""

    kind: str

    def __len__(self) -> int: ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(scores, ids)`` of shape ``(n_queries, min(k, len(self)))``, best first."""

    def params(self) -> dict:
        """The settings that define the index (recorded in manifests)."""


@dataclass(frozen=True)
class IndexEntry:
    """A registered index kind: its class (or ``"module:Class"``; None for ``auto``, which
    picks another kind), the settings it takes, and a line of help."""

    cls: type | str | None
    params: frozenset[str]
    help: str


INDEX_KINDS: Registry[IndexEntry] = Registry("index")
INDEX_KINDS.register(
    "auto", IndexEntry(None, frozenset(), f"exact up to {AUTO_EXACT_MAX:,} targets, else hnsw")
)
INDEX_KINDS.register(
    "exact",
    IndexEntry("skim.index.exact:ExactIndex", frozenset({"device"}), "brute force (torch)"),
)
INDEX_KINDS.register(
    "hnsw",
    IndexEntry(
        "skim.index.hnsw:HnswIndex",
        frozenset({"M", "ef_construction", "ef", "num_threads", "seed"}),
        "hnswlib graph, as in the paper",
    ),
)
INDEX_KINDS.register(
    "faiss",
    IndexEntry(
        "skim.index.faiss_index:FaissIndex",
        frozenset({"M", "ef_construction", "ef", "num_threads", "factory"}),
        "a faiss index (optional extra)",
    ),
)


def resolve_kind(kind: str, n_targets: int) -> str:
    """The concrete kind ``build_index`` would use for ``n_targets`` targets."""
    INDEX_KINDS.lookup(kind)
    if kind == "auto":
        return "exact" if n_targets <= AUTO_EXACT_MAX else "hnsw"
    return kind


def build_index(
    vectors: np.ndarray,
    kind: str = "auto",
    cache_dir: str | os.PathLike | None = None,
    **params,
) -> Index:
    """Build a nearest-neighbour index by inner product over ``vectors``.

    Parameters
    ----------
    vectors
        ``(n, d)`` float32 targets (L2-normalise them for cosine scores).
    kind
        ``"exact"`` (chunked torch matrix product, CPU or GPU), ``"hnsw"`` (hnswlib, as in the
        paper), ``"faiss"`` (optional extra) or ``"auto"``: exact up to
        :data:`AUTO_EXACT_MAX` targets, where brute force is both exact and fast, else hnsw.
    cache_dir
        Where an hnsw graph is saved and found again for the same vectors and graph settings,
        so that a rerun (a sweep, then the mapping) does not rebuild it. None: no cache.
    **params
        Passed to the index class: ``device`` (exact); ``M``, ``ef_construction``, ``ef``,
        ``num_threads`` (hnsw, faiss); ``factory`` (faiss). Parameters that the chosen kind
        does not take raise a :class:`SkimError`, except those of the other kinds when
        ``kind="auto"`` (so one call can carry settings for whichever kind is picked).
    """
    accepted = {name: set(entry.params) for name, entry in INDEX_KINDS.items()}
    chosen = resolve_kind(kind, len(vectors))
    unknown = set(params) - accepted[chosen]
    if kind == "auto":
        unknown -= set().union(*accepted.values())
    if unknown:
        raise SkimError(
            f"index {chosen!r} does not take {', '.join(sorted(unknown))}; "
            f"it takes {', '.join(sorted(accepted[chosen]))}"
        )
    kept = {key: value for key, value in params.items() if key in accepted[chosen]}
    if chosen == "hnsw" and cache_dir is not None:
        return _cached_hnsw(vectors, Path(cache_dir), kept)
    return load(INDEX_KINDS[chosen].cls)(vectors, **kept)


def _cached_hnsw(vectors: np.ndarray, cache_dir: Path, params: dict) -> Index:
    """An hnsw graph read from ``cache_dir`` when one was built for these vectors and graph
    settings, else built and saved there (atomically)."""
    from skim.index.hnsw import HnswIndex

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    index = HnswIndex(np.zeros((0, vectors.shape[1]), np.float32), **params)  # its settings
    graph = {k: v for k, v in index.params().items() if k in ("M", "ef_construction", "seed")}
    digest = hashlib.sha256(json.dumps(graph, sort_keys=True).encode())
    digest.update(f"{vectors.shape}".encode())
    digest.update(memoryview(vectors).cast("B"))
    path = cache_dir / "index" / f"hnsw-{digest.hexdigest()[:32]}.bin"
    if path.exists():
        try:
            return HnswIndex(vectors, **params, path=path)
        except (RuntimeError, SkimError):
            path.unlink(missing_ok=True)
    index = HnswIndex(vectors, **params)
    with atomic_path(path, suffix=".bin") as tmp:
        index.save(tmp)
    return index
