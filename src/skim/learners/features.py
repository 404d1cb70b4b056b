"""What a learner reads: query and label texts (optionally with metadata) and their embeddings."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from skim.data import Dataset
from skim.encode import TextEncoder, encode_texts
from skim.errors import SkimError

if TYPE_CHECKING:
    from skim.scale.cluster import RayOptions

SPLITS = ("trn", "tst")
META_SEPARATOR = " | "


def with_metadata(texts: list[str], meta: list[str] | None, where: str) -> list[str]:
    """``text | metadata`` for every record (the paper's retrieval augmentation, Table 4)."""
    if meta is None:
        raise SkimError(f"--with-metadata needs {where}, which the dataset does not have")
    return [f"{t}{META_SEPARATOR}{m}" if m else t for t, m in zip(texts, meta, strict=True)]


def query_texts(dataset: Dataset, split: str, metadata: bool = False) -> list[str]:
    """The texts a learner sees for the queries of ``split`` (``"trn"`` or ``"tst"``)."""
    if split not in SPLITS:
        raise SkimError(f"unknown split {split!r}; choose trn or tst")
    texts = dataset.trn_texts if split == "trn" else dataset.tst_texts
    if not metadata:
        return list(texts)
    meta = dataset.trn_meta if split == "trn" else dataset.tst_meta
    return with_metadata(texts, meta, f"{split}_X.meta.txt")


def encoder_name(encoder: TextEncoder) -> str | None:
    """What to store so that prediction can load the same encoder again."""
    return getattr(encoder, "name", None)


def embed(
    encoder: TextEncoder,
    texts: list[str],
    cache_dir: str | os.PathLike | None,
    ray: RayOptions | None = None,
) -> np.ndarray:
    """L2-normalised float32 embeddings of ``texts``, cached on disk by content (those the
    cache lacks encoded on the Ray cluster ``ray`` names, if any)."""
    vectors = np.asarray(encode_texts(encoder, texts, cache_dir, ray), dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class FrozenInputs:
    """Fixed embeddings: a learner's input rows are looked up, never recomputed (CPU mode)."""

    finetuned = False

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.dim = int(self.vectors.shape[1])

    def __len__(self) -> int:
        return len(self.vectors)

    def parameters(self) -> list:
        return []

    def __call__(self, rows: np.ndarray):
        import torch

        return torch.from_numpy(self.vectors[rows])

    def all(self, batch_size: int = 4096) -> np.ndarray:
        return self.vectors


class EncoderInputs:
    """Texts run through a trainable sentence-transformers model (``--finetune-encoder``)."""

    finetuned = True

    def __init__(self, model, texts: list[str], device: str | None = None) -> None:
        self.model = model
        self.texts = list(texts)
        self.device = device or str(model.device)
        get_dim = getattr(model, "get_embedding_dimension", None)
        self.dim = int(get_dim() if get_dim else model.get_sentence_embedding_dimension())

    def __len__(self) -> int:
        return len(self.texts)

    def parameters(self) -> list:
        return list(self.model.parameters())

    def __call__(self, rows: np.ndarray):
        import torch

        prepare = getattr(self.model, "preprocess", None) or self.model.tokenize
        features = prepare([self.texts[i] for i in rows])
        features = {k: v.to(self.device) if hasattr(v, "to") else v for k, v in features.items()}
        out = self.model(features)["sentence_embedding"]
        return torch.nn.functional.normalize(out, dim=-1)

    def all(self, batch_size: int = 256) -> np.ndarray:
        """Every text's current embedding, without gradients."""
        import torch

        was_training = self.model.training
        self.model.eval()
        with torch.no_grad():
            parts = [
                self(np.arange(i, min(i + batch_size, len(self)))).float().cpu().numpy()
                for i in range(0, len(self), batch_size)
            ]
        self.model.train(was_training)
        return np.concatenate(parts) if parts else np.zeros((0, self.dim), np.float32)
