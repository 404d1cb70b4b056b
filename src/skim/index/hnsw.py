"""Approximate inner-product search with hnswlib (the HNSW graph of Malkov and Yashunin).

The index the paper maps with (appendix E(iii)): it runs on CPUs and scales to millions of
targets. Scores are inner products, so on L2-normalised vectors they are cosines, comparable
with :func:`skim.index.exact_topk`.
"""

from __future__ import annotations

import os

import numpy as np

from skim.argtypes import check_positive_int
from skim.errors import SkimError


class HnswIndex:
    """An hnswlib HNSW graph over ``vectors`` (inner-product space).

    Parameters
    ----------
    vectors
        ``(n, d)`` float32 target vectors, normally L2-normalised.
    M
        Graph degree: higher is more accurate, larger and slower to build.
    ef_construction
        Candidate list size while building: higher is more accurate and slower.
    ef
        Candidate list size while searching; raised to ``k`` at search time so that hnswlib
        can always return ``k`` neighbours. 64 kept 99.97% of the exact kept pairs at top-10
        in ``benchmarks/map.py`` (32: 99.5%, 16: 97.3%).
    num_threads
        Threads for building and searching; -1 uses every core.
    seed
        Seed of the level assignment, for repeatable graphs.
    path
        Load a graph saved by :meth:`save` for these same vectors and settings instead of
        building it.
    """

    kind = "hnsw"

    def __init__(
        self,
        vectors: np.ndarray,
        M: int = 32,
        ef_construction: int = 200,
        ef: int = 64,
        num_threads: int = -1,
        seed: int = 100,
        path: str | os.PathLike | None = None,
    ) -> None:
        import hnswlib

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2:
            raise SkimError(f"index vectors must be a 2-d array, got shape {vectors.shape}")
        for name, value in (("M", M), ("ef_construction", ef_construction), ("ef", ef)):
            check_positive_int(f"hnsw {name}", value)
        self.M, self.ef_construction, self.ef = int(M), int(ef_construction), int(ef)
        self.num_threads, self.seed = int(num_threads), int(seed)
        self.dim = int(vectors.shape[1])
        self._n = len(vectors)
        self._index = hnswlib.Index(space="ip", dim=self.dim)
        if path is not None:
            self._index.load_index(str(path), max_elements=max(self._n, 1))
            if self._index.element_count != self._n or self._index.M != self.M:
                raise SkimError(f"{path}: saved hnsw index does not match the vectors")
            return
        self._index.init_index(
            max_elements=max(self._n, 1),
            M=self.M,
            ef_construction=self.ef_construction,
            random_seed=self.seed,
        )
        if self._n:
            self._index.add_items(vectors, np.arange(self._n), num_threads=self.num_threads)

    def save(self, path: str | os.PathLike) -> None:
        """Write the graph in hnswlib's own binary format (no pickle); reopen it with
        ``HnswIndex(vectors, ..., path=path)``."""
        self._index.save_index(str(path))

    def __len__(self) -> int:
        return self._n

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, ids) for each query row, best first; ``ef`` is raised to ``k``."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        k = min(int(k), self._n)
        if k <= 0 or len(queries) == 0:
            return np.zeros((len(queries), max(k, 0)), np.float32), np.zeros(
                (len(queries), max(k, 0)), np.int64
            )
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise SkimError(f"query vectors {queries.shape} do not match the index (d={self.dim})")
        self._index.set_ef(max(self.ef, k))
        try:
            labels, distances = self._index.knn_query(queries, k=k, num_threads=self.num_threads)
        except RuntimeError as exc:  # hnswlib could not find k neighbours
            raise SkimError(f"hnsw search failed ({exc}); raise ef or M") from None
        # hnswlib's "ip" distance is 1 - <q, x>
        return (1.0 - distances).astype(np.float32), labels.astype(np.int64)

    def params(self) -> dict:
        return {
            "kind": self.kind,
            "M": self.M,
            "ef_construction": self.ef_construction,
            "ef": self.ef,
            "seed": self.seed,
            "size": self._n,
        }
