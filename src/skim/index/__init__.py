"""Nearest-neighbour search by inner product (cosine on normalised vectors).

``build_index(vectors, kind)`` gives an exact, hnswlib or faiss index behind one interface:
``search(queries, k) -> (scores, ids)``, ``params()`` and ``len()``.
"""

from skim.index.build import AUTO_EXACT_MAX, INDEX_KINDS, Index, build_index, resolve_kind
from skim.index.exact import ExactIndex, exact_topk
from skim.index.faiss_index import FaissIndex
from skim.index.hnsw import HnswIndex

__all__ = [
    "AUTO_EXACT_MAX",
    "INDEX_KINDS",
    "ExactIndex",
    "FaissIndex",
    "HnswIndex",
    "Index",
    "build_index",
    "exact_topk",
    "resolve_kind",
]
