"""What the teacher is asked about: sampled train queries or labels, with metadata and knowns.

Both the LLM teacher and the gold teacher build their items here, so their records agree
field for field and their cache keys are computed the same way.
"""

from __future__ import annotations

import hashlib
import json
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from skim.data import Dataset
from skim.direction import by_source, source_texts, target_texts
from skim.errors import SkimError
from skim.prompts import truncate_metadata

# paper appendix E: 750 metadata tokens for web pages (labels-to-queries, LF-Orcas-800K) and
# 1000 for articles (queries-to-labels, LF-WikiTitlesHierarchy-2M); known queries are shown
# for a document (its observed train queries), none for a Wikipedia title.
DEFAULT_MAX_META_TOKENS = {"labels-to-queries": 750, "queries-to-labels": 1000}
DEFAULT_N_KNOWN = {"labels-to-queries": 5, "queries-to-labels": 0}


@dataclass(frozen=True)
class Item:
    """One question to the teacher: ``source`` indexes a train query or a label."""

    source: int
    text: str
    metadata: str
    known: tuple[str, ...]


def sample_indices(total: int, sample: int | float | None, seed: int = 0) -> np.ndarray:
    """Sorted indices of a random sample of ``range(total)``.

    ``None`` takes all; an int takes that many (all if fewer); a float in (0, 1] takes that
    fraction (at least one). Samples are prefixes of one seeded permutation, so a larger
    sample with the same seed contains a smaller one and reuses its cached answers.
    """
    if sample is None:
        k = total
    elif isinstance(sample, bool) or not isinstance(sample, numbers.Real):
        raise SkimError(f"sample must be a count or a fraction in (0, 1], got {sample!r}")
    elif isinstance(sample, numbers.Integral):
        if sample < 1:
            raise SkimError(f"sample must be a positive count, got {sample}")
        k = min(int(sample), total)
    else:
        if not 0 < sample <= 1:
            raise SkimError(f"sample fraction must lie in (0, 1], got {sample}")
        k = min(total, max(1, round(float(sample) * total)))
    order = np.random.default_rng(seed).permutation(total)
    return np.sort(order[:k]).astype(np.int64)


def _known(
    matrix: sp.csr_matrix, source: int, n_known: int, texts: list[str], seed: int
) -> tuple[str, ...]:
    """Up to ``n_known`` observed partners of ``source`` (a row of ``matrix``), seeded per item."""
    partners = matrix.indices[matrix.indptr[source] : matrix.indptr[source + 1]]
    if n_known <= 0 or len(partners) == 0:
        return ()
    if len(partners) > n_known:
        rng = np.random.default_rng([seed, source])
        partners = np.sort(rng.choice(partners, size=n_known, replace=False))
    return tuple(texts[j] for j in partners)


def oriented(dataset: Dataset, direction: str, unbiased: bool = False) -> sp.csr_matrix:
    """The train matrix with one row per item of ``direction`` (labels x queries if needed)."""
    matrix = dataset.trn_X_Y_unbiased if unbiased else dataset.trn_X_Y
    if matrix is None:
        where = dataset.path / "trn_X_Y_unbiased.npz" if dataset.path else "trn_X_Y_unbiased"
        raise SkimError(
            f"{where}: the gold teacher needs the complete train labels, and this dataset "
            "has none (they exist only for simulated datasets)"
        )
    return by_source(matrix, direction)


def build_items(
    dataset: Dataset,
    direction: str,
    indices: np.ndarray,
    n_known: int,
    max_meta_tokens: int | None,
    tokenizer: Any = None,
    seed: int = 0,
) -> list[Item]:
    """The items at ``indices``: their text, truncated metadata and shown known partners."""
    texts, meta = source_texts(dataset, direction)
    observed = oriented(dataset, direction)
    partners = target_texts(dataset, direction)
    return [
        Item(
            source=int(i),
            text=texts[i],
            metadata=truncate_metadata(meta[i], max_meta_tokens, tokenizer) if meta else "",
            known=_known(observed, int(i), n_known, partners, seed),
        )
        for i in indices
    ]


def item_key(
    teacher: str, template_digest: str, params: Mapping[str, Any], direction: str, item: Item
) -> str:
    """Cache key: SHA-256 of (teacher model, template, parameters, item) as canonical JSON."""
    blob = json.dumps(
        {
            "teacher": teacher,
            "template": template_digest,
            "params": dict(params),
            "direction": direction,
            "source": item.source,
            "text": item.text,
            "metadata": item.metadata,
            "known": list(item.known),
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def base_record(direction: str, item: Item, prompt: str, teacher: str, key: str) -> dict:
    """The demonstration fields every teacher writes (texts and completion come after)."""
    return {
        "source": item.source,
        "texts": [],
        "direction": direction,
        "text": item.text,
        "metadata": item.metadata,
        "known": list(item.known),
        "prompt": prompt,
        "completion": "",
        "teacher": teacher,
        "key": key,
    }
