"""The two directions of SKIM, and what each one means for a dataset.

``queries-to-labels``: the sources are the train queries, synthetic texts are proposed labels,
mapped onto the real labels (the Wikipedia-categories case). ``labels-to-queries``: the
sources are the labels, synthetic texts are queries, mapped onto the real train queries (the
web-search / ads case). Every stage asks this module which side is which, instead of
branching on the direction's name itself.
"""

from __future__ import annotations

import scipy.sparse as sp

from skim.data import Dataset
from skim.errors import SkimError

LABELS_TO_QUERIES = "labels-to-queries"
QUERIES_TO_LABELS = "queries-to-labels"
DIRECTIONS = (LABELS_TO_QUERIES, QUERIES_TO_LABELS)


def check_direction(direction: str) -> str:
    """Return ``direction`` if it is one of :data:`DIRECTIONS`, else raise SkimError."""
    if direction not in DIRECTIONS:
        raise SkimError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    return direction


def source_texts(dataset: Dataset, direction: str) -> tuple[list[str], list[str] | None]:
    """(texts, metadata or None) of the sources of ``direction``."""
    check_direction(direction)
    if direction == QUERIES_TO_LABELS:
        return dataset.trn_texts, dataset.trn_meta
    return dataset.label_texts, dataset.label_meta


def source_meta_file(direction: str) -> str:
    """The dataset file holding the sources' metadata (named in errors when it is missing)."""
    return "trn_X.meta.txt" if check_direction(direction) == QUERIES_TO_LABELS else "Y.meta.txt"


def source_count(dataset: Dataset, direction: str) -> int:
    """How many sources ``direction`` has: train queries, or labels."""
    return dataset.n_trn if check_direction(direction) == QUERIES_TO_LABELS else dataset.n_labels


def target_texts(dataset: Dataset, direction: str) -> list[str]:
    """The real texts that synthetic ones are mapped onto (labels, or train queries)."""
    check_direction(direction)
    return dataset.label_texts if direction == QUERIES_TO_LABELS else dataset.trn_texts


def target_file(direction: str) -> str:
    """The dataset file holding the targets' texts (recorded in manifests)."""
    return "Y.txt" if check_direction(direction) == QUERIES_TO_LABELS else "trn_X.txt"


def target_meta(dataset: Dataset, direction: str) -> list[str] | None:
    """The metadata of the targets of ``direction`` (None when the dataset has none)."""
    check_direction(direction)
    return dataset.label_meta if direction == QUERIES_TO_LABELS else dataset.trn_meta


def by_source(matrix: sp.spmatrix, direction: str) -> sp.csr_matrix:
    """A (train query x label) matrix as CSR sources x targets of ``direction``."""
    check_direction(direction)
    return (matrix if direction == QUERIES_TO_LABELS else matrix.T).tocsr()


def observed_partners(dataset: Dataset, direction: str) -> sp.csr_matrix:
    """CSR matrix sources x targets of the observed (possibly biased) pairs."""
    return by_source(dataset.trn_X_Y, direction)
