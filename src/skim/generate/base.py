"""What every generator shares: the items it is given and the interface it implements."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from skim.data import Dataset
from skim.distill.format import check_direction
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


def source_texts(dataset: Dataset, direction: str) -> tuple[list[str], list[str] | None]:
    """(texts, metadata or None) of the sources of ``direction``."""
    check_direction(direction)
    if direction == "queries-to-labels":
        return dataset.trn_texts, dataset.trn_meta
    return dataset.label_texts, dataset.label_meta


def target_texts(dataset: Dataset, direction: str) -> list[str]:
    """The real texts that synthetic ones are mapped onto (labels, or train queries)."""
    check_direction(direction)
    return dataset.label_texts if direction == "queries-to-labels" else dataset.trn_texts


def observed_partners(dataset: Dataset, direction: str):
    """CSR matrix sources x targets of the observed (possibly biased) pairs."""
    return (
        dataset.trn_X_Y.tocsr() if direction == "queries-to-labels" else dataset.trn_X_Y.T.tocsr()
    )


def make_items(
    dataset: Dataset, direction: str, sources: list[int], no_metadata: bool
) -> list[Item]:
    """Items for ``sources``; a missing metadata file is an error unless ``no_metadata``."""
    texts, meta = source_texts(dataset, direction)
    if meta is None and not no_metadata:
        which = "trn_X.meta.txt" if direction == "queries-to-labels" else "Y.meta.txt"
        raise SkimError(f"the dataset has no {which}; generate with --no-metadata")
    return [Item(i, texts[i], "" if no_metadata else meta[i]) for i in sources]
