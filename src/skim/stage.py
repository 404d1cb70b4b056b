"""Run a stage only when needed: skip it when its outputs exist and its inputs and settings
are unchanged since the run that made them, so a rerun after a crash continues where it was.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from skim._io import file_fingerprint, write_json_atomic
from skim._redact import redact_values

LOGGER = logging.getLogger(__name__)

STAMP_DIR = ".skim-stages"


def path_fingerprint(path: str | os.PathLike) -> str:
    """Content hash of a file, or of every file below a folder (names and contents)."""
    path = Path(path)
    if path.is_file():
        return file_fingerprint(path)
    if not path.is_dir():
        return "missing"
    digest = hashlib.sha256()
    for item in sorted(p for p in path.rglob("*") if p.is_file() and STAMP_DIR not in p.parts):
        digest.update(str(item.relative_to(path)).encode())
        digest.update(file_fingerprint(item).encode())
    return digest.hexdigest()


def _key(inputs: Sequence[str | os.PathLike], settings: dict[str, Any]) -> str:
    payload = {
        "inputs": {str(p): path_fingerprint(p) for p in inputs},
        "settings": settings,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def run_stage(
    workdir: str | os.PathLike,
    name: str,
    fn: Callable[[], Any],
    outputs: Sequence[str | os.PathLike],
    inputs: Sequence[str | os.PathLike] = (),
    settings: dict[str, Any] | None = None,
    log: Callable[[str], None] = print,
) -> bool:
    """Run ``fn`` unless a previous run already made ``outputs`` from the same inputs/settings.

    Returns True when the stage ran, False when it was skipped. The stamp is written only after
    ``fn`` returns, so an interrupted stage runs again next time.
    """
    stamp = Path(workdir) / STAMP_DIR / f"{name}.json"
    key = _key(inputs, settings or {})
    if stamp.exists() and all(Path(p).exists() for p in outputs):
        try:
            previous = json.loads(stamp.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            previous = {}
        if previous.get("key") == key:
            log(f"[{name}] up to date, skipped")
            return False
        LOGGER.debug("[%s] inputs or settings changed since %s", name, stamp)
    else:
        LOGGER.debug("[%s] no stamp %s or an output missing", name, stamp)
    log(f"[{name}] running")
    start, cpu_start = time.perf_counter(), time.process_time()
    fn()
    missing = [str(p) for p in outputs if not Path(p).exists()]
    if missing:
        raise RuntimeError(f"stage {name} finished without writing {', '.join(missing)}")
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start  # all of this process's threads: wall on a busy box lies
    shown = redact_values(settings or {})  # e.g. an endpoint's password
    write_json_atomic(
        stamp,
        {"key": key, "seconds": round(elapsed, 2), "cpu_seconds": round(cpu, 2), "settings": shown},
    )
    log(f"[{name}] done in {elapsed:.1f} s ({cpu:.1f} CPU s)")
    return True
