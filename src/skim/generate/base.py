"""What every generator shares: the items it is given and the interface it implements."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from skim.data import Dataset
from skim.direction import source_meta_file, source_texts
from skim.errors import SkimError

if TYPE_CHECKING:
    from skim.teach.client import ItemFailed


@dataclass(frozen=True)
class Item:
    """One source item: a train query (queries-to-labels) or a label (labels-to-queries)."""

    source: int
    text: str
    metadata: str


@runtime_checkable
class Generator(Protocol):
    """Writes synthetic texts for items. ``settings`` is recorded with every output record."""

    name: str
    settings: dict[str, Any]

    def generate(self, items: list[Item]) -> list[list[str] | ItemFailed]:
        """One list of synthetic texts per item, in order; a generator that can give up on an
        item (an endpoint that kept failing) returns its :class:`ItemFailed` instead, which is
        listed as failed and asked again on a rerun, never recorded as an empty list."""


@runtime_checkable
class ReportsBatches(Protocol):
    """A generator that reports its progress within a call of ``generate``: ``progress`` is
    called with the number of items each finished batch covered (the run sets it)."""

    progress: Callable[[int], None]


def make_items(
    dataset: Dataset, direction: str, sources: list[int], no_metadata: bool
) -> list[Item]:
    """Items for ``sources``; a missing metadata file is an error unless ``no_metadata``."""
    texts, meta = source_texts(dataset, direction)
    if meta is None and not no_metadata:
        raise SkimError(
            f"the dataset has no {source_meta_file(direction)}; generate with --no-metadata"
        )
    return [Item(i, texts[i], "" if no_metadata else meta[i]) for i in sources]
