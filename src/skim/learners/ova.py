"""One-vs-all learner (Renée-like): query embedding -> optional bottleneck -> label layer.

Every label has a weight vector and a bias, initialised from the label's text embedding, and
is trained with a binary cross-entropy over *all* labels of each batch that keeps soft
targets soft (Renée's fast path binarises them; a SKIM score of 0.85 must stay 0.85).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from skim.learners.loop import Trainer, batches
from skim.learners.params import TrainParams
from skim.learners.targets import TrainingSet, dense_rows

# Initial logits are INIT_SCALE * (cosine - INIT_SHIFT): a label starts by scoring the
# queries near its text high, the way a zero-shot nearest-label model would.
INIT_SCALE = 20.0
INIT_SHIFT = 0.8


class OvaNet(nn.Module):
    """Scores ``x @ W.T + b`` of every label, after an optional linear bottleneck."""

    def __init__(self, dim: int, n_labels: int, bottleneck: int | None = None) -> None:
        super().__init__()
        self.bottleneck = nn.Linear(dim, bottleneck, bias=False) if bottleneck else None
        width = bottleneck or dim
        self.weight = nn.Parameter(torch.zeros(n_labels, width))
        self.bias = nn.Parameter(torch.zeros(n_labels))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.bottleneck(x) if self.bottleneck is not None else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(x) @ self.weight.T + self.bias

    @torch.no_grad()
    def init_from_labels(self, label_vectors: np.ndarray, generator: torch.Generator) -> None:
        """Label weights from label-text embeddings (mapped through an orthogonal bottleneck)."""
        vectors = torch.from_numpy(np.ascontiguousarray(label_vectors, dtype=np.float32))
        if self.bottleneck is not None:
            weight = torch.empty_like(self.bottleneck.weight)
            rows, cols = weight.shape
            q, _ = torch.linalg.qr(
                torch.randn(max(rows, cols), min(rows, cols), generator=generator)
            )
            weight.copy_(q if rows >= cols else q.T)
            self.bottleneck.weight.copy_(weight)
            vectors = vectors @ weight.T
        self.weight.copy_(INIT_SCALE * vectors)
        self.bias.fill_(-INIT_SCALE * INIT_SHIFT)


def ova_loss(
    logits: torch.Tensor, targets: torch.Tensor, positive: torch.Tensor | None = None
) -> torch.Tensor:
    """Soft-target BCE summed over labels, averaged over the batch.

    ``-(positive * log sigmoid(s) + (1 - targets) * log(1 - sigmoid(s)))`` where
    ``positive = pos_weight * targets`` (``targets`` itself when None). The dense part runs
    in torch's fused BCE kernel; the weights only add a term on the entries they change.
    """
    loss = F.binary_cross_entropy_with_logits(logits, targets, reduction="sum")
    if positive is not None:
        changed = torch.nonzero(positive != targets, as_tuple=True)
        extra = positive[changed] - targets[changed]
        loss = loss + (extra * F.softplus(-logits[changed])).sum()
    return loss / len(logits)


def fit_ova(
    inputs,
    label_vectors: np.ndarray,
    training: TrainingSet,
    params: TrainParams,
    device: str = "cpu",
    show_progress: bool = True,
) -> tuple[OvaNet, list[float]]:
    """Train a one-vs-all model; returns it and the mean loss of every epoch."""
    generator = torch.Generator().manual_seed(params.seed)
    net = OvaNet(inputs.dim, training.n_labels, params.bottleneck)
    net.init_from_labels(label_vectors, generator)
    net.to(device)
    trainer = Trainer(net.parameters(), inputs.parameters(), params, show_progress)
    targets = training.targets
    positive = None if training.pos_weight is None else targets.data * training.pos_weight.data
    rng = np.random.default_rng(params.seed)
    for epoch in range(params.epochs):
        for rows in trainer.epoch(batches(len(training.texts), params.batch_size, rng), epoch):
            logits = net(inputs(rows).to(device))
            t = dense_rows(targets, rows).to(device)
            p = None if positive is None else dense_rows(targets, rows, positive).to(device)
            trainer.step(ova_loss(logits, t, p))
    return net, trainer.history


@torch.no_grad()
def ova_topk(
    net: OvaNet, query_vectors: np.ndarray, k: int, device: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` labels per query by logit, as (sigmoid scores, label ids)."""
    from skim.index import exact_topk

    net = net.cpu()
    q = net.embed(torch.from_numpy(np.ascontiguousarray(query_vectors, np.float32))).numpy()
    ones = np.ones((len(q), 1), np.float32)
    targets = torch.cat([net.weight, net.bias[:, None]], dim=1).numpy()
    logits, ids = exact_topk(np.hstack([q, ones]), targets, k, device=device)
    return 1.0 / (1.0 + np.exp(-logits.astype(np.float64))), ids


def fit(inputs, label_inputs, training: TrainingSet, params: TrainParams, device, show_progress):
    """The registry's ``fit`` (see :data:`skim.learners.registry.Fit`)."""
    return fit_ova(inputs, label_inputs.all(), training, params, device, show_progress)


def topk(config: dict, tensors: dict, params: TrainParams, queries, label_vectors, k, device):
    """The registry's ``topk``: sigmoid of the label logits of the ``k`` best labels."""
    net = OvaNet(config["dim"], config["n_labels"], params.bottleneck)
    net.load_state_dict(tensors)
    return ova_topk(net, queries, k, device)
