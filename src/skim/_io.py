"""Small file helpers shared by every stage: atomic writes and content fingerprints.

Every output goes through :func:`atomic_path` (files) or :func:`atomic_dir` (folders): it is
written beside its target and moved into place only when complete, with the permissions the
umask gives any new file (not ``mkstemp``'s 0600), and a failure to write it (read-only
folder, full disk, a folder in the way) is an :class:`~skim.errors.OutputError` naming it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from skim.errors import OutputError


def current_umask() -> int:
    """The process's umask, read without changing it where Linux allows (thread-safe)."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def apply_umask(folder: str | os.PathLike) -> None:
    """Give every file below ``folder`` the mode the umask gives a new file (and folders
    theirs): writers such as safetensors create their files 0600 whatever the umask."""
    mask = current_umask()
    for path in Path(folder).rglob("*"):
        if not path.is_symlink():
            path.chmod((0o777 if path.is_dir() else 0o666) & ~mask)


def output_error(path: str | os.PathLike, exc: OSError) -> OutputError:
    """One sentence for a failed write: ``cannot write PATH: REASON``."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return OutputError(f"cannot write {path}: {reason}")


def _is_about(exc: OSError, own: Path) -> bool:
    """Whether ``exc`` concerns the temporary output ``own`` (a file or a folder and what it
    holds), or no file at all (as a full disk): not an input read while writing."""
    if not isinstance(exc.filename, (str, bytes, os.PathLike)):
        return True
    name = Path(os.fsdecode(exc.filename))
    return name == own or own in name.parents


def check_output(
    path: str | os.PathLike, folder: bool = False, keep: tuple[str, ...] | None = None
) -> None:
    """Fail fast, before any work, when ``path`` cannot be written as a file (or a folder):
    a folder (or a file) is in its place, one of its parents is a file, or (``keep``) an
    existing folder holds entries other than those an output folder would replace."""
    path = Path(path)
    if path.is_dir() and not folder:
        raise OutputError(f"cannot write {path}: it is a folder")
    if folder and path.exists() and not path.is_dir():
        raise OutputError(f"cannot write {path}: it exists and is not a folder")
    if folder and keep is not None and path.is_dir():
        foreign = sorted(p.name for p in path.iterdir() if p.name not in keep)
        if foreign:
            raise OutputError(
                f"cannot write {path}: it holds {foreign[0]!r}, which is not part of its "
                "output; choose a new or empty folder"
            )
    for parent in path.parents:
        if parent.is_dir():
            return
        if parent.exists():
            raise OutputError(f"cannot write {path}: {parent} is a file, not a folder")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path`` and move it into place only on success.

    A crash or an exception leaves no partial output behind. The file gets the mode the
    umask gives a new file; an OSError writing it becomes an OutputError naming ``path``.
    """
    path = Path(path)
    check_output(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=suffix or ".tmp"
        )
        os.close(fd)
        os.chmod(tmp, 0o666 & ~current_umask())
    except OSError as exc:
        raise output_error(path, exc) from None
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except OSError as exc:
        if isinstance(exc, OutputError) or not _is_about(exc, tmp_path):
            raise
        raise output_error(path, exc) from None
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, keep: tuple[str, ...] | None = None) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it replaces ``path`` whole.

    A failure while the folder is filled (a full disk, an exception) leaves ``path`` as it
    was. ``keep`` names the only entries an existing ``path`` may hold (None: any), so that
    replacing it cannot delete a user's other files. Between the two renames of the swap a
    crash leaves the old folder as ``.NAME.old-*`` beside ``path``.
    """
    shown, path = path, Path(os.path.abspath(path))  # "." has a name and a parent this way
    check_output(shown, folder=True, keep=keep)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.tmp-"))
        os.chmod(tmp, 0o777 & ~current_umask())
    except OSError as exc:
        raise output_error(shown, exc) from None
    try:
        try:
            yield tmp
        except OSError as exc:
            if isinstance(exc, OutputError) or not _is_about(exc, tmp):
                raise
            raise output_error(shown, exc) from None
        try:
            _swap(tmp, path)
        except OSError as exc:
            raise output_error(shown, exc) from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _swap(new: Path, path: Path) -> None:
    """Put the folder ``new`` at ``path``, restoring the old folder if the move fails."""
    if not path.is_dir():
        os.replace(new, path)
        return
    old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.old-"))
    os.replace(path, old / path.name)
    try:
        os.replace(new, path)
    except OSError:
        os.replace(old / path.name, path)
        raise
    shutil.rmtree(old, ignore_errors=True)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def file_fingerprint(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes (hex), streamed so large files cost no memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def texts_fingerprint(texts: list[str]) -> str:
    """SHA-256 of a list of texts, order-sensitive and unambiguous about boundaries."""
    digest = hashlib.sha256()
    for text in texts:
        data = text.encode("utf-8")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()
