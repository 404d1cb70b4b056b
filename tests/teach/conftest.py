"""A dataset whose items the fake server recognises (``item-<k>``) and a gold-checkable one."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from skim.data import Dataset


@pytest.fixture
def served_dataset() -> Dataset:
    """8 labels named item-0..item-7 (labels-to-queries items), 4 train queries."""
    labels = [f"item-{k}" for k in range(8)]
    observed = np.zeros((4, 8), np.float32)
    observed[0, [0, 1]] = observed[1, 1] = observed[2, 5] = observed[3, 7] = 1
    return Dataset(
        trn_texts=["query zero", "query one", "query two", "query three"],
        tst_texts=["test query"],
        label_texts=labels,
        trn_X_Y=sp.csr_matrix(observed),
        tst_X_Y=sp.csr_matrix((1, 8), dtype=np.float32),
        label_meta=[f"the page of document {k}, with words" for k in range(8)],
    )


@pytest.fixture
def gold_dataset() -> Dataset:
    """4 train queries, 3 labels; observed labels miss 4 of the 7 complete pairs."""
    observed = np.array([[1, 0, 0], [0, 0, 0], [0, 0, 1], [0, 1, 0]], np.float32)
    complete = np.array([[1, 1, 0], [0, 1, 1], [0, 0, 1], [1, 1, 0]], np.float32)
    return Dataset(
        trn_texts=["exon", "intron", "codon", "gene"],
        tst_texts=["allele"],
        label_texts=["sequence", "nucleic acid", "unit"],
        trn_X_Y=sp.csr_matrix(observed),
        tst_X_Y=sp.csr_matrix((1, 3), dtype=np.float32),
        trn_X_Y_unbiased=sp.csr_matrix(complete),
        trn_meta=["coding part of a gene", "non-coding part", "three bases", "unit of heredity"],
        label_meta=["an ordered series", "DNA or RNA", "a single thing"],
    )
