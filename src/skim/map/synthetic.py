"""Reading SYNTHETIC.jsonl: one ``{"source": int, "texts": [str, ...]}`` object per line.

The file is streamed in chunks of texts so that memory does not grow with its length. Texts
are stripped; empty texts, and texts repeated for the same source within a chunk, are skipped
and counted (repeats change nothing under max aggregation, they only cost encoding).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from skim._log import progress_enabled
from skim.data.readfile import open_input
from skim.errors import SkimError

DEFAULT_CHUNK_SIZE = 32_768


class SyntheticFile:
    """A SYNTHETIC.jsonl file whose sources index ``n_sources`` items.

    Parameters
    ----------
    path
        The JSONL file. Blank lines are allowed; extra keys in a record are ignored.
    n_sources
        Number of valid sources: a source must lie in ``[0, n_sources)``.
    sources_name
        What the sources index, for error messages (e.g. ``"Y.txt has 120 labels"``).

    Attributes
    ----------
    counts
        Filled while iterating: ``records``, ``texts`` (all texts read), ``empty_skipped``,
        ``duplicate_skipped`` and ``texts_used``.
    """

    def __init__(self, path: str | os.PathLike, n_sources: int, sources_name: str) -> None:
        self.path = Path(path)
        with open_input(self.path, "synthetic texts file"):
            pass  # a missing file, a directory or a loop of links: one sentence, now
        self.n_sources = int(n_sources)
        self.sources_name = sources_name
        self.counts = dict.fromkeys(
            ("records", "texts", "empty_skipped", "duplicate_skipped", "texts_used"), 0
        )

    def _records(self, progress: bool) -> Iterator[tuple[int, int, list]]:
        """Yield ``(line number, source, texts)`` for every record, validated."""
        bar = None
        if progress_enabled(progress):
            from tqdm.auto import tqdm

            size = self.path.stat().st_size
            bar = tqdm(total=size, unit="B", unit_scale=True, desc=f"map {self.path.name}")
        try:
            with open(self.path, "rb") as handle:
                for lineno, raw in enumerate(handle, start=1):
                    if bar is not None:
                        bar.update(len(raw))
                    if not raw.strip():
                        continue
                    yield lineno, *self._parse(raw, lineno)
        finally:
            if bar is not None:
                bar.close()

    def check(self) -> int:
        """Validate every line without keeping anything; return the number of records."""
        return sum(1 for _ in self._records(progress=False))

    def _parse(self, raw: bytes, lineno: int) -> tuple[int, list]:
        where = f"{self.path}, line {lineno}"
        try:
            record = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise SkimError(f"{where}: not valid UTF-8 ({exc.reason})") from None
        except json.JSONDecodeError as exc:
            raise SkimError(f"{where}: not a JSON object ({exc.msg})") from None
        except RecursionError:
            raise SkimError(f"{where}: not a JSON object (nested too deeply)") from None
        if not isinstance(record, dict):
            raise SkimError(f'{where}: expected an object {{"source": int, "texts": [...]}}')
        source, texts = record.get("source"), record.get("texts")
        if isinstance(source, bool) or not isinstance(source, int):
            raise SkimError(f'{where}: "source" must be an integer, got {source!r}')
        if not 0 <= source < self.n_sources:
            raise SkimError(
                f"{where}: source {source} is out of range [0, {self.n_sources}) "
                f"({self.sources_name})"
            )
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise SkimError(f'{where}: "texts" must be a list of strings')
        return source, texts

    def chunks(
        self, chunk_size: int = DEFAULT_CHUNK_SIZE, progress: bool = False
    ) -> Iterator[tuple[np.ndarray, list[str]]]:
        """Yield ``(sources, texts)``: int64 source per text and the texts, ~``chunk_size`` each.

        A record is never split, so a chunk may exceed ``chunk_size`` by one record's texts.
        """
        for sources, texts, _ in self.counted_chunks(chunk_size, progress):
            yield sources, texts

    def counted_chunks(
        self, chunk_size: int = DEFAULT_CHUNK_SIZE, progress: bool = False
    ) -> Iterator[tuple[np.ndarray, list[str], np.ndarray]]:
        """Like :meth:`chunks`, plus how often each text occurred for its source (int64).

        Repeats are encoded once but still count: several sampled completions that agree on
        a text are several votes for its neighbours (see ``min_votes`` in
        :func:`skim.map.map_synthetic`).
        """
        counts = self.counts
        sources: list[int] = []
        texts: list[str] = []
        seen: dict[tuple[int, str], int] = {}
        times: list[int] = []
        for _lineno, source, record_texts in self._records(progress):
            counts["records"] += 1
            counts["texts"] += len(record_texts)
            for text in record_texts:
                text = text.strip()
                if not text:
                    counts["empty_skipped"] += 1
                elif (source, text) in seen:
                    counts["duplicate_skipped"] += 1
                    times[seen[(source, text)]] += 1
                else:
                    seen[(source, text)] = len(texts)
                    sources.append(source)
                    texts.append(text)
                    times.append(1)
            if len(texts) >= chunk_size:
                counts["texts_used"] += len(texts)
                yield np.asarray(sources, dtype=np.int64), texts, np.asarray(times, np.int64)
                sources, texts, seen, times = [], [], {}, []
        if texts:
            counts["texts_used"] += len(texts)
            yield np.asarray(sources, dtype=np.int64), texts, np.asarray(times, np.int64)
