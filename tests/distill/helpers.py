"""Test material shared by the distill and generate tests: a toy dataset, demos, a tiny LM."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from skim.data import Dataset

LABELS = ["canine", "feline", "tree", "vehicle", "animal", "plant"]
QUERIES = [
    ("dog", "a domesticated canine kept as a pet", [0, 4]),
    ("cat", "a small feline with soft fur", [1, 4]),
    ("oak", "a tree bearing acorns", [2, 5]),
    ("car", "a motor vehicle with four wheels", [3]),
    ("wolf", "a wild canine that hunts in packs", [0, 4]),
    ("lion", "a large feline of Africa", [1, 4]),
    ("pine", "a tree with needles", [2, 5]),
    ("bus", "a large vehicle carrying passengers", [3]),
]


def toy_dataset() -> Dataset:
    """8 train queries whose metadata names their first label; the second label is unobserved."""
    full = np.zeros((len(QUERIES), len(LABELS)), np.float32)
    for i, (_, _, labels) in enumerate(QUERIES):
        full[i, labels] = 1
    observed = full.copy()
    observed[:, 4:] = 0
    return Dataset(
        trn_texts=[q for q, _, _ in QUERIES],
        tst_texts=["puma"],
        label_texts=list(LABELS),
        trn_X_Y=sp.csr_matrix(observed),
        tst_X_Y=sp.csr_matrix(np.eye(1, len(LABELS), 1, dtype=np.float32)),
        trn_X_Y_unbiased=sp.csr_matrix(full),
        trn_meta=[m for _, m, _ in QUERIES],
        tst_meta=["a large wild feline"],
        label_meta=[
            "a dog-like animal",
            "a cat-like animal",
            "a woody plant",
            "a machine",
            "a living organism",
            "a living organism without locomotion",
        ],
    )


def write_demos(path: Path, rows: range | list[int] = range(4)) -> Path:
    """Gold demonstrations (queries-to-labels) for ``rows`` of the toy dataset."""
    with open(path, "w", encoding="utf-8") as handle:
        for i in rows:
            text, meta, labels = QUERIES[i]
            record = {
                "source": i,
                "texts": [LABELS[j] for j in labels],
                "direction": "queries-to-labels",
                "text": text,
                "metadata": meta,
                "known": [],
                "prompt": "...",
                "completion": "...",
                "teacher": "gold",
            }
            handle.write(json.dumps(record) + "\n")
    return path


def save_tiny_base(path: Path) -> Path:
    """A 2-layer, 32-wide Llama and a BPE tokenizer saved like a pretrained checkpoint."""
    from skim.distill.model import scratch_model, train_tokenizer

    corpus = [f"{q} {m} {' '.join(LABELS)}" for q, m, _ in QUERIES] * 4
    tokenizer = train_tokenizer(corpus, vocab_size=300)
    model = scratch_model(tokenizer, hidden_size=32, num_layers=2, max_length=256)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
