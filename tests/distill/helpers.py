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


GGUF_TOKENS = (
    ["<unk>", "<s>", "</s>", "<pad>"]
    + [chr(c) for c in range(97, 123)]
    + [
        "\u0120",  # byte-level space
        "\u010a",  # byte-level newline
        "ab",
        "\u0120a",
    ]
)


def write_tiny_gguf(path: Path, architecture: str = "llama", hidden: int = 32) -> Path:
    """A one-layer Llama with random float32 weights and a byte-level BPE tokenizer, as GGUF.

    Written with the ``gguf`` package's writer, the way llama.cpp lays a Llama out; any other
    ``architecture`` writes the same tensors under that name (for the unsupported case).
    """
    import gguf

    writer = gguf.GGUFWriter(str(path), architecture)
    heads, ff = 2, 64
    writer.add_name("tiny")
    writer.add_context_length(64)
    writer.add_embedding_length(hidden)
    writer.add_block_count(1)
    writer.add_feed_forward_length(ff)
    writer.add_head_count(heads)
    writer.add_head_count_kv(heads)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_dimension_count(hidden // heads)
    writer.add_vocab_size(len(GGUF_TOKENS))
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(GGUF_TOKENS)
    writer.add_token_types([3] * 4 + [1] * (len(GGUF_TOKENS) - 4))
    writer.add_token_merges(["a b", "\u0120 a"])
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_pad_token_id(3)
    writer.add_unk_token_id(0)
    rng = np.random.default_rng(0)

    def add(name: str, *shape: int) -> None:
        writer.add_tensor(name, rng.normal(0, 0.5, shape).astype(np.float32))

    add("token_embd.weight", len(GGUF_TOKENS), hidden)
    for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
        add(f"blk.0.{name}.weight", hidden, hidden)
    add("blk.0.ffn_gate.weight", ff, hidden)
    add("blk.0.ffn_up.weight", ff, hidden)
    add("blk.0.ffn_down.weight", hidden, ff)
    for name in ("blk.0.attn_norm.weight", "blk.0.ffn_norm.weight", "output_norm.weight"):
        writer.add_tensor(name, np.ones(hidden, np.float32))
    add("output.weight", len(GGUF_TOKENS), hidden)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
