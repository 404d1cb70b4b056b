"""The dataset builders ``skim run`` can start from (``[dataset] builder = "NAME"``), by name.

A builder writes a dataset directory (DATASET.md) with complete labels from the ``[dataset]``
settings and the run's seed; the config's check and the pipeline's dataset stage read
:data:`BUILDERS`. Adding a builder: a function with the signature of :data:`Build` in its own
module, then one ``BUILDERS.register(...)`` line below.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from skim.data import Dataset
from skim.registry import Registry

Build = Callable[[str | os.PathLike, dict[str, Any], int], Dataset]
"""``build(out_dir, settings, seed) -> Dataset``: ``settings`` is the ``[dataset]`` table."""


@dataclass(frozen=True)
class BuilderEntry:
    """A registered dataset builder (or ``"module:function"``) and a line of help."""

    build: Build | str
    help: str


def build_wordnet(out_dir: str | os.PathLike, settings: dict[str, Any], seed: int) -> Dataset:
    """The WordNet nouns dataset from the ``[dataset]`` settings (see
    :func:`skim.simulate.build_wordnet_dataset`); ``settings["ray"]``, if there, is the
    cluster that encodes (``skim run``'s ``[ray]``)."""
    from skim.simulate.wordnet import build_wordnet_dataset

    return build_wordnet_dataset(
        out_dir,
        depth=settings["depth"],
        exposure_topk=settings["exposure_topk"],
        source=settings["source"],
        lexfiles=settings["lexfiles"],
        encoder=settings["encoder"],
        seed=seed,
        ray=settings.get("ray"),
    )


BUILDERS: Registry[BuilderEntry] = Registry("dataset builder")
BUILDERS.register("wordnet", BuilderEntry(build_wordnet, "WordNet 3.0 nouns -> their hypernyms"))
