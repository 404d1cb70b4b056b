"""LEVER (Buvanesh et al.): label variance reduction with a Siamese teacher.

1. A Siamese teacher (the dual encoder's head over frozen embeddings) is trained on the
   training labels with the logistic loss ``log(1 + exp(s(q, neg) - s(q, pos)))`` over
   positives and mined hard negatives.
2. Its cosine scores become probabilities with a Platt fit ``sigmoid(a * cos + b)`` on the
   teacher's top-k candidates of every train query (target: the pair is a training label).
3. The learner trains on ``lambda * BCE(y) + (1 - lambda) * BCE(p_teacher)``. BCE is linear
   in its target, so that is exactly BCE against the mixed target
   ``lambda * y + (1 - lambda) * p_teacher`` -- a sparse matrix, since the teacher keeps only
   its top-k labels per query.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp
import torch

from skim.learners.targets import TrainingSet

MIN_TEACHER_SCORE = 1e-3


def teacher_candidates(
    query_vectors: np.ndarray, label_vectors: np.ndarray, k: int, device: str | None = None
) -> sp.csr_matrix:
    """Cosine of each query's top-``k`` labels under the teacher, as a CSR (values in [-1, 1])."""
    from skim.index import exact_topk

    scores, ids = exact_topk(query_vectors, label_vectors, k, device=device)
    n, kk = ids.shape
    indptr = np.arange(0, n * kk + 1, kk, dtype=np.int64)
    out = sp.csr_matrix((scores.ravel(), ids.ravel(), indptr), shape=(n, len(label_vectors)))
    out.sort_indices()
    return out


def platt_fit(scores: np.ndarray, positive: np.ndarray, steps: int = 200) -> tuple[float, float]:
    """``(a, b)`` maximising the likelihood of ``positive`` under ``sigmoid(a * score + b)``."""
    x = torch.from_numpy(np.asarray(scores, dtype=np.float64))
    y = torch.from_numpy(np.asarray(positive, dtype=np.float64))
    ab = torch.tensor([1.0, 0.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([ab], max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(ab[0] * x + ab[1], y)
        loss.backward()
        return loss

    opt.step(closure)
    a, b = ab.detach().tolist()
    return float(a), float(b)


def _entries(matrix: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    return np.asarray(matrix[rows, cols]).ravel() if len(rows) else np.zeros(0, np.float32)


def _rows(matrix: sp.csr_matrix) -> np.ndarray:
    return np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))


def teacher_scores(candidates: sp.csr_matrix, labels: sp.csr_matrix) -> tuple[sp.csr_matrix, dict]:
    """Calibrated teacher probabilities on the candidate pairs (Platt fit on the labels)."""
    rows, cols, cos = _rows(candidates), candidates.indices, candidates.data.astype(np.float64)
    observed = (_entries(labels, rows, cols) > 0).astype(np.float64)
    a, b = platt_fit(cos, observed)
    probs = 1.0 / (1.0 + np.exp(-(a * cos + b)))
    keep = probs >= MIN_TEACHER_SCORE
    out = sp.csr_matrix(
        (probs[keep].astype(np.float32), (rows[keep], cols[keep])), shape=candidates.shape
    )
    out.sort_indices()
    return out, {"platt_a": a, "platt_b": b, "teacher_pairs": int(out.nnz)}


def mix_targets(
    labels: sp.csr_matrix,
    teacher: sp.csr_matrix,
    lam: float,
    label_weights: np.ndarray | None = None,
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """LEVER's mixed target and the positive weights that keep IPS on the labels' part.

    ``target = lam * y + (1 - lam) * p``; the positive term of the BCE is
    ``lam * w_l * y + (1 - lam) * p`` (``w_l`` = 1 without IPS), so the weight stored per pair
    is that divided by the target.
    """
    labels = sp.csr_matrix(labels, dtype=np.float32)
    teacher = sp.csr_matrix(teacher, dtype=np.float32)
    target = sp.csr_matrix(lam * labels + (1.0 - lam) * teacher)
    target.eliminate_zeros()
    target.sort_indices()
    weighted = labels
    if label_weights is not None:
        weighted = sp.csr_matrix(labels.multiply(np.asarray(label_weights, np.float32)[None, :]))
    positive = sp.csr_matrix(lam * weighted + (1.0 - lam) * teacher)
    ratio = _entries(positive, _rows(target), target.indices) / target.data
    weight = sp.csr_matrix(
        (ratio.astype(np.float32), target.indices.copy(), target.indptr.copy()), target.shape
    )
    return target, weight


def lever_training_set(ctx, ips: bool = False) -> TrainingSet:
    """Train the teacher, score with it and return the mixed-target training set."""
    from skim.data import inverse_propensity
    from skim.learners.dual import fit_dual
    from skim.learners.features import FrozenInputs

    params = ctx.params
    queries = FrozenInputs(ctx.embed(ctx.query_texts))
    labels_in = FrozenInputs(ctx.embed(ctx.label_texts))
    teacher_params = dataclasses.replace(
        params,
        learner="dual",
        lr=1e-3,
        finetune_encoder=False,
        hard_negatives=max(params.hard_negatives, 1),
    )
    net, history = fit_dual(
        queries,
        labels_in,
        TrainingSet(ctx.query_texts, ctx.labels),
        teacher_params,
        device=ctx.device,
        show_progress=ctx.show_progress,
        loss="logistic",
        desc="lever teacher",
    )
    candidates = teacher_candidates(
        net.encode(queries.vectors), net.encode(labels_in.vectors), params.lever_topk, ctx.device
    )
    teacher, info = teacher_scores(candidates, ctx.labels)
    weights = None
    if ips:
        ds = ctx.dataset
        weights = inverse_propensity(ctx.labels, ds.propensity_a, ds.propensity_b)
    target, pos_weight = mix_targets(ctx.labels, teacher, params.lever_lambda, weights)
    info.update(teacher_loss=history, ips=ips)
    return TrainingSet(ctx.query_texts, target, pos_weight, info=info)
