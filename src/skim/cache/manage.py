"""What the embedding cache holds, and clearing or compacting it.

The cache (``$SKIM_CACHE_DIR`` or ``~/.cache/skim``, see :func:`skim.encode.default_cache_dir`)
has one folder per encoder under ``embeddings/`` (:func:`skim.encode.encoder_store`), which
grows by one shard (``KEY.keys.npy`` + ``KEY.vecs.npy``) per call that encoded new texts, and
the GGUF conversions under ``gguf/`` (:func:`skim.distill.gguf.convert_gguf`).

Compaction merges an encoder's shards into one: lookups read every shard, so thousands of
small ones (one per call of a long pipeline) cost file opens and searches on every call, while
the vectors themselves are worth keeping (each costs a forward pass). Eviction by size is left
to ``clear --older-than``, which says what it removes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from skim.encode import (
    ENCODER_ID_FILE,
    SHARD_KEYS,
    SHARD_VECS,
    default_cache_dir,
    read_shard,
    shard_files,
    write_shard,
)
from skim.errors import SkimError


def _root(cache_dir: str | os.PathLike | None) -> Path:
    return Path(cache_dir) if cache_dir else default_cache_dir()


def _size(path: Path) -> int:
    """Bytes of a file, or of every file under a folder."""
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _encoder_id(store: Path) -> str | None:
    """The encoder id a folder was written for (None for a folder older than the id file)."""
    try:
        return (store / ENCODER_ID_FILE).read_text(encoding="utf-8")
    except OSError:
        return None


def _stores(root: Path, encoder: str | None = None) -> list[Path]:
    """The encoder folders, or the one whose id or folder name is ``encoder``."""
    base = root / "embeddings"
    stores = sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
    if encoder is None:
        return stores
    chosen = [s for s in stores if encoder in (s.name, _encoder_id(s))]
    if not chosen:
        raise SkimError(
            f"{base}: no cached encoder {encoder!r} (give an id or a folder name that "
            "`skim cache info` lists)"
        )
    return chosen


def cache_info(cache_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """Where the cache is and what it holds: per encoder its id, folder, texts, shards and bytes;
    the GGUF conversions' count and bytes; the total bytes."""
    root = _root(cache_dir)
    encoders = []
    for store in _stores(root):
        pairs = shard_files(store)
        texts = 0
        for keys, _ in pairs:
            try:
                texts += len(np.load(keys, mmap_mode="r", allow_pickle=False))
            except (OSError, ValueError):  # a broken shard: encode_texts removes it on next use
                continue
        encoders.append(
            {"id": _encoder_id(store), "folder": store.name, "texts": texts,
             "shards": len(pairs), "bytes": _size(store)}
        )  # fmt: skip
    gguf = root / "gguf"
    conversions = [p for p in gguf.iterdir() if p.is_dir()] if gguf.is_dir() else []
    gguf_bytes = sum(_size(p) for p in conversions)
    return {
        "cache_dir": str(root),
        "encoders": encoders,
        "embedding_bytes": sum(e["bytes"] for e in encoders),
        "gguf_conversions": len(conversions),
        "gguf_bytes": gguf_bytes,
        "total_bytes": sum(e["bytes"] for e in encoders) + gguf_bytes,
    }


def clear_cache(
    cache_dir: str | os.PathLike | None = None,
    encoder: str | None = None,
    older_than_days: float | None = None,
    everything: bool = False,
) -> dict[str, Any]:
    """Remove cached embeddings, and say what went.

    Parameters
    ----------
    encoder
        Only this encoder's folder (its id, or its folder name).
    older_than_days
        Only shards last written more than this many days ago.
    everything
        All embeddings and the GGUF conversions; needed when neither other scope is given, so
        that no call clears the whole cache by omission.

    Returns
    -------
    dict
        The shards, texts and bytes removed, the encoder folders emptied and removed, and the
        GGUF conversions removed.
    """
    if encoder is None and older_than_days is None and not everything:
        raise SkimError("say what to clear: --encoder ID, --older-than DAYS or --all")
    if older_than_days is not None and older_than_days < 0:
        raise SkimError(f"--older-than must be >= 0 days, got {older_than_days}")
    root = _root(cache_dir)
    cutoff = None if older_than_days is None else time.time() - older_than_days * 86400
    removed = {"cache_dir": str(root), "shards": 0, "texts": 0, "bytes": 0, "encoders": []}
    for store in _stores(root, encoder):
        for keys, vecs in shard_files(store):
            if cutoff is not None and max(_mtime(keys), _mtime(vecs)) >= cutoff:
                continue
            try:
                removed["texts"] += len(np.load(keys, mmap_mode="r", allow_pickle=False))
            except (OSError, ValueError):
                pass
            removed["bytes"] += _size(keys) + (_size(vecs) if vecs.exists() else 0)
            keys.unlink(missing_ok=True)  # the keys first: a shard without them is not read
            vecs.unlink(missing_ok=True)
            removed["shards"] += 1
        if not shard_files(store):
            removed["encoders"].append(_encoder_id(store) or store.name)
            removed["bytes"] += _size(store)
            shutil.rmtree(store, ignore_errors=True)
    removed["gguf_conversions"] = 0
    gguf = root / "gguf"
    if everything and encoder is None and older_than_days is None and gguf.is_dir():
        for conversion in [p for p in gguf.iterdir() if p.is_dir()]:
            removed["bytes"] += _size(conversion)
            shutil.rmtree(conversion, ignore_errors=True)
            removed["gguf_conversions"] += 1
    return removed


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def compact_cache(
    cache_dir: str | os.PathLike | None = None, encoder: str | None = None
) -> dict[str, Any]:
    """Merge each encoder's shards into one (the same vectors for the same texts after).

    The merged shard is written in full before the shards it replaces are removed, so an
    interruption leaves duplicates (harmless: the first match wins), never a loss. Shards
    another process writes meanwhile are left as they are.

    Returns the encoders compacted with their shards before and after, and the bytes saved.
    """
    root = _root(cache_dir)
    done = []
    for store in _stores(root, encoder):
        pairs, keys_parts, vecs_parts = [], [], []
        for keys_file, vecs_file in shard_files(store):
            try:
                keys, vecs = read_shard(keys_file, vecs_file)
            except (OSError, ValueError):
                continue  # a broken or half-written shard: left to encode_texts
            pairs.append((keys_file, vecs_file))
            keys_parts.append(keys)
            vecs_parts.append(vecs)
        if len(pairs) < 2:
            continue
        before = sum(_size(k) + _size(v) for k, v in pairs)
        keys, first = np.unique(np.concatenate(keys_parts), return_index=True)
        vecs = np.concatenate(vecs_parts)[first]
        name = hashlib.sha256(keys.tobytes()).hexdigest()[:24]
        write_shard(store, name, keys, vecs)
        merged = store / f"{name}{SHARD_KEYS}"
        for keys_file, vecs_file in pairs:
            if keys_file != merged:
                keys_file.unlink(missing_ok=True)
                vecs_file.unlink(missing_ok=True)
        after = _size(merged) + _size(store / f"{name}{SHARD_VECS}")
        done.append(
            {"id": _encoder_id(store), "folder": store.name, "texts": len(keys),
             "shards_before": len(pairs), "shards_after": 1, "bytes_saved": before - after}
        )  # fmt: skip
    return {"cache_dir": str(root), "encoders": done}
