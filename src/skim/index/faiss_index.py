"""Inner-product search with faiss (optional extra ``skim-xc[faiss]``): HNSW or flat."""

from __future__ import annotations

import numpy as np

from skim.errors import SkimError


def _import_faiss():
    try:
        import faiss
    except ImportError:
        raise SkimError(
            "index 'faiss' needs the faiss package: pip install 'skim-xc[faiss]' (or faiss-gpu)"
        ) from None
    return faiss


class FaissIndex:
    """A faiss index over ``vectors`` with inner-product metric.

    Parameters
    ----------
    vectors
        ``(n, d)`` float32 target vectors, normally L2-normalised.
    factory
        ``"hnsw"`` (``IndexHNSWFlat``, the approximate default) or ``"flat"`` (exact).
    M, ef_construction, ef
        HNSW graph degree, build-time and search-time candidate list sizes; ``ef`` is raised to
        ``k`` at search time.
    num_threads
        OpenMP threads faiss may use; None keeps faiss's default.
    """

    kind = "faiss"

    def __init__(
        self,
        vectors: np.ndarray,
        factory: str = "hnsw",
        M: int = 32,
        ef_construction: int = 200,
        ef: int = 64,
        num_threads: int | None = None,
    ) -> None:
        faiss = _import_faiss()
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2:
            raise SkimError(f"index vectors must be a 2-d array, got shape {vectors.shape}")
        if factory not in ("hnsw", "flat"):
            raise SkimError(f"faiss factory must be 'hnsw' or 'flat', got {factory!r}")
        if num_threads is not None:
            faiss.omp_set_num_threads(int(num_threads))
        self.factory, self.M = factory, int(M)
        self.ef_construction, self.ef = int(ef_construction), int(ef)
        self.dim = int(vectors.shape[1])
        if factory == "hnsw":
            self._index = faiss.IndexHNSWFlat(self.dim, self.M, faiss.METRIC_INNER_PRODUCT)
            self._index.hnsw.efConstruction = self.ef_construction
        else:
            self._index = faiss.IndexFlatIP(self.dim)
        if len(vectors):
            self._index.add(vectors)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, ids) for each query row, best first."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        k = min(int(k), len(self))
        if k <= 0 or len(queries) == 0:
            return np.zeros((len(queries), max(k, 0)), np.float32), np.zeros(
                (len(queries), max(k, 0)), np.int64
            )
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise SkimError(f"query vectors {queries.shape} do not match the index (d={self.dim})")
        if self.factory == "hnsw":
            self._index.hnsw.efSearch = max(self.ef, k)
        scores, ids = self._index.search(queries, k)
        # faiss pads with id -1 when it finds fewer than k; give those the lowest score
        scores = np.where(ids < 0, -np.inf, scores).astype(np.float32)
        return scores, ids.astype(np.int64)

    def params(self) -> dict:
        out = {"kind": self.kind, "factory": self.factory, "size": len(self)}
        if self.factory == "hnsw":
            out.update(M=self.M, ef_construction=self.ef_construction, ef=self.ef)
        return out
