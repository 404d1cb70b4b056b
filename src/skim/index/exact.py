"""Exact top-k inner-product search: chunked matrix products with a running top-k (torch)."""

from __future__ import annotations

import numpy as np

from skim.devices import resolve_device
from skim.errors import SkimError

_BLOCK_ELEMENTS = 1 << 25  # scores held at once per block (128 MB of float32)


def exact_topk(
    queries: np.ndarray,
    targets: np.ndarray,
    k: int,
    device: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` targets of highest inner product for every query.

    Memory stays bounded by one block of scores whatever the sizes: queries and targets are
    both cut into chunks and a running top-k is merged across target chunks.

    Returns
    -------
    scores, ids
        ``(n_queries, min(k, n_targets))`` float32 scores, best first, and int64 target ids.
    """
    import torch

    queries = np.ascontiguousarray(queries, dtype=np.float32)
    targets = np.ascontiguousarray(targets, dtype=np.float32)
    if (
        queries.ndim != 2
        or targets.ndim != 2
        or (len(targets) and queries.shape[1] != targets.shape[1])
    ):
        raise SkimError(
            f"query vectors {queries.shape} and target vectors {targets.shape} do not match"
        )
    k = min(int(k), len(targets))
    n = len(queries)
    if k <= 0 or n == 0:
        return np.zeros((n, max(k, 0)), np.float32), np.zeros((n, max(k, 0)), np.int64)
    dev = torch.device(resolve_device(device))
    tgt = torch.from_numpy(targets).to(dev)
    t_chunk = max(k, min(len(targets), _BLOCK_ELEMENTS // 1024))
    q_chunk = max(1, _BLOCK_ELEMENTS // t_chunk)
    out_scores = np.empty((n, k), np.float32)
    out_ids = np.empty((n, k), np.int64)
    with torch.inference_mode():
        for q0 in range(0, n, q_chunk):
            q = torch.from_numpy(queries[q0 : q0 + q_chunk]).to(dev)
            best_s = best_i = None
            for t0 in range(0, len(targets), t_chunk):
                s = q @ tgt[t0 : t0 + t_chunk].T
                top_s, top_i = torch.topk(s, min(k, s.shape[1]), dim=1)
                top_i += t0
                if best_s is not None:
                    top_s = torch.cat([best_s, top_s], dim=1)
                    top_i = torch.cat([best_i, top_i], dim=1)
                    top_s, pos = torch.topk(top_s, k, dim=1)
                    top_i = torch.gather(top_i, 1, pos)
                best_s, best_i = top_s, top_i
            out_scores[q0 : q0 + len(q)] = best_s.cpu().numpy()
            out_ids[q0 : q0 + len(q)] = best_i.cpu().numpy()
    return out_scores, out_ids


class ExactIndex:
    """Brute-force index over ``vectors``: the reference for every approximate index."""

    kind = "exact"

    def __init__(self, vectors: np.ndarray, device: str | None = None) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.device = device

    def __len__(self) -> int:
        return len(self.vectors)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, ids) for each query row, best first."""
        return exact_topk(queries, self.vectors, k, device=self.device)

    def params(self) -> dict:
        return {"kind": self.kind, "size": len(self)}
