"""The mapping with the bundled all-MiniLM-L6-v2: real texts, real encoder, on-disk cache."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from skim.data import Dataset
from skim.map import map_synthetic

from .conftest import write_jsonl


def test_synonyms_map_to_their_labels(tmp_path):
    labels = ["domestic cat", "dog", "oak tree", "violin", "bicycle"]
    dataset = Dataset(
        trn_texts=["q0", "q1", "q2"],
        tst_texts=["q"],
        label_texts=labels,
        trn_X_Y=sp.csr_matrix((3, 5), dtype=np.float32),
        tst_X_Y=sp.csr_matrix((1, 5), dtype=np.float32),
    )
    synthetic = write_jsonl(
        tmp_path / "s.jsonl",
        [
            {"source": 0, "texts": ["house cat", "puppy"]},
            {"source": 2, "texts": ["a bike"]},
        ],
    )
    matrix, manifest = map_synthetic(
        dataset, synthetic, "queries-to-labels", topk=2, tau=0.8, cache_dir=tmp_path
    )
    # house cat -> domestic cat 0.91, puppy -> dog 0.90, a bike -> bicycle 0.93; the second
    # neighbours (dog 0.73 for house cat, ...) stay below tau
    assert sorted(zip(*matrix.nonzero(), strict=True)) == [(0, 0), (0, 1), (2, 4)]
    assert manifest["settings"]["encoder"].endswith("|len=256|norm")
    assert list((tmp_path / "embeddings").glob("*/*.npy"))  # targets and texts cached
