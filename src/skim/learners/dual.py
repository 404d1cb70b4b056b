"""Dual-encoder learner (DEXML-like): queries and labels share one encoder, scored by cosine.

CPU mode trains a linear projection (initialised to the identity) over frozen
sentence-transformers embeddings; ``finetune_encoder`` trains the encoder itself. The loss
is DEXML's decoupled softmax: each query's sampled positive competes with the batch's other
positives and the mined hard negatives, while the query's *other* positives are removed from
the denominator. A soft target value is the probability of sampling that positive.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn
from torch.nn import functional as F

from skim.errors import SkimError
from skim.learners.loop import Trainer, batches
from skim.learners.params import TrainParams
from skim.learners.targets import TrainingSet

LOSSES = ("softmax", "logistic")
# Positives skipped at most per query while mining: rows with more get fewer negatives.
MAX_SKIPPED = 64


class DualNet(nn.Module):
    """The shared head: ``normalize(x @ P.T)`` with ``P`` starting as the identity."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.projection = nn.Linear(dim, dim, bias=False)
        with torch.no_grad():
            self.projection.weight.copy_(torch.eye(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.projection(x), dim=-1)

    @torch.no_grad()
    def encode(self, vectors: np.ndarray, batch_size: int = 65536) -> np.ndarray:
        """Projected, normalised float32 vectors (no gradients)."""
        weight = self.projection.weight.detach().cpu()
        parts = [
            F.normalize(torch.from_numpy(vectors[i : i + batch_size]) @ weight.T, dim=-1).numpy()
            for i in range(0, len(vectors), batch_size)
        ]
        return np.concatenate(parts) if parts else np.zeros((0, weight.shape[0]), np.float32)


def mine_hard_negatives(
    query_vectors: np.ndarray,
    label_vectors: np.ndarray,
    targets: sp.csr_matrix,
    n: int,
    device: str | None = None,
) -> np.ndarray:
    """The ``n`` highest-scoring labels of every query that are not among its targets.

    Returns an ``(n_queries, n)`` int64 array, best first, padded with -1 when a query has
    fewer than ``n`` non-positive labels.
    """
    from skim.index import exact_topk
    from skim.pairs import contains, pair_keys

    n_queries = len(query_vectors)
    out = np.full((n_queries, n), -1, dtype=np.int64)
    if n == 0 or n_queries == 0:
        return out
    targets = sp.csr_matrix(targets)
    targets.sort_indices()
    max_pos = int(np.diff(targets.indptr).max(initial=0))
    _, ids = exact_topk(query_vectors, label_vectors, n + min(max_pos, MAX_SKIPPED), device=device)
    found = np.arange(n_queries, dtype=np.int64)[:, None] * targets.shape[1] + ids
    is_pos = contains(pair_keys(targets), found.ravel()).reshape(found.shape)
    order = np.argsort(is_pos, axis=1, kind="stable")[:, :n]  # non-positives first, best first
    picked = np.take_along_axis(ids, order, axis=1)
    picked[np.take_along_axis(is_pos, order, axis=1)] = -1
    out[:, : picked.shape[1]] = picked
    return out


def sample_positives(
    targets: sp.csr_matrix, rows: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """One stored entry (index into ``targets.data``) per row, drawn in proportion to its value."""
    cum = np.cumsum(targets.data, dtype=np.float64)
    start, end = targets.indptr[rows], targets.indptr[rows + 1]
    if np.any(end <= start):
        raise SkimError("every sampled row needs at least one positive")
    base = np.where(start > 0, cum[np.maximum(start - 1, 0)], 0.0)
    u = base + rng.random(len(rows)) * (cum[end - 1] - base)
    picked = np.searchsorted(cum, u, side="right")
    return np.clip(picked, start, end - 1)


def dual_loss(
    query: torch.Tensor,
    candidates: torch.Tensor,
    own: torch.Tensor,
    other_positive: torch.Tensor,
    temperature: float,
    weight: torch.Tensor | None = None,
    kind: str = "softmax",
) -> torch.Tensor:
    """Loss of B queries against C shared candidate labels.

    Parameters
    ----------
    query, candidates
        ``(B, d)`` and ``(C, d)`` normalised vectors.
    own
        ``(B,)`` index in the candidates of each query's sampled positive.
    other_positive
        ``(B, C)`` bool: candidates that are other positives of the query; they are neither
        negatives nor in the softmax denominator (DEXML's decoupling).
    kind
        ``"softmax"``: decoupled softmax cross-entropy. ``"logistic"``: LEVER's teacher loss,
        the mean of ``log(1 + exp((s_neg - s_pos) / temperature))`` over the negatives.
    """
    scores = query @ candidates.T / temperature
    rows = torch.arange(len(query))
    positive = scores[rows, own]
    negative = ~other_positive
    negative[rows, own] = False
    if kind == "softmax":
        masked = scores.masked_fill(~negative, float("-inf"))
        masked[rows, own] = positive
        loss = torch.logsumexp(masked, dim=1) - positive
    elif kind == "logistic":
        pair = F.softplus(scores - positive[:, None]) * negative
        loss = pair.sum(dim=1) / negative.sum(dim=1).clamp(min=1)
    else:
        raise SkimError(f"unknown dual loss {kind!r}; choose one of {', '.join(LOSSES)}")
    if weight is not None:
        loss = loss * weight
    return loss.mean()


def fit_dual(
    query_inputs,
    label_inputs,
    training: TrainingSet,
    params: TrainParams,
    device: str = "cpu",
    show_progress: bool = True,
    loss: str = "softmax",
    desc: str | None = None,
) -> tuple[DualNet, list[float]]:
    """Train the dual encoder's head (and the encoder when fine-tuning)."""
    torch.manual_seed(params.seed)
    rng = np.random.default_rng(params.seed)
    targets = training.targets
    weights = training.weight_data()
    points = np.flatnonzero(np.diff(targets.indptr) > 0)
    if not len(points):
        raise SkimError("the training labels have no positive pair to train the dual encoder on")
    net = DualNet(query_inputs.dim).to(device)
    encoder_params = {id(p): p for p in query_inputs.parameters() + label_inputs.parameters()}
    trainer = Trainer(net.parameters(), encoder_params.values(), params, show_progress, desc)
    for epoch in range(params.epochs):
        hard = None
        if params.hard_negatives:
            with torch.no_grad():
                q_all = _project(net, query_inputs)
                l_all = _project(net, label_inputs)
            hard = mine_hard_negatives(q_all, l_all, targets, params.hard_negatives, device=device)
        for batch in trainer.epoch(batches(len(points), params.batch_size, rng), epoch):
            rows = points[batch]
            picked = sample_positives(targets, rows, rng)
            own_labels = targets.indices[picked]
            pool = own_labels if hard is None else np.concatenate([own_labels, hard[rows].ravel()])
            cand = np.unique(pool[pool >= 0])
            own = torch.from_numpy(np.searchsorted(cand, own_labels))
            other = torch.from_numpy(targets[rows][:, cand].toarray() > 0)
            q = net(query_inputs(rows).to(device))
            c = net(label_inputs(cand).to(device))
            w = torch.from_numpy(weights[picked]).to(device)
            trainer.step(
                dual_loss(q, c, own.to(device), other.to(device), params.temperature, w, loss)
            )
    return net, trainer.history


def _project(net: DualNet, inputs) -> np.ndarray:
    return net.encode(np.ascontiguousarray(inputs.all(), dtype=np.float32))


def topk(config: dict, tensors: dict, params: TrainParams, queries, label_vectors, k, device):
    """The registry's ``topk``: ``(cos + 1) / 2`` of the ``k`` nearest projected labels."""
    from skim.index import exact_topk

    net = DualNet(config["dim"])
    net.load_state_dict(tensors)
    labels = net.encode(label_vectors())
    scores, ids = exact_topk(net.encode(queries), labels, k, device=device)
    return (scores + 1.0) / 2.0, ids
