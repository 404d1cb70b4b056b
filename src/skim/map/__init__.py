"""SKIM step 2: map synthetic texts to real train queries or labels (``skim map``)."""

from skim.direction import DIRECTIONS, LABELS_TO_QUERIES, QUERIES_TO_LABELS
from skim.map.mapping import (
    manifest_path,
    map_synthetic,
    propose_pairs,
    sweep_tau,
    write_mapping,
)
from skim.map.pairs import PairAccumulator
from skim.map.params import MapParams
from skim.map.synthetic import SyntheticFile
from skim.map.tau import (
    DEFAULT_TAU_GRID,
    KnownLabels,
    choose_tau,
    format_table,
    read_rows,
    resolve_known,
    tau_table,
)
from skim.pairs import matrix_fingerprint

__all__ = [
    "DEFAULT_TAU_GRID",
    "DIRECTIONS",
    "LABELS_TO_QUERIES",
    "QUERIES_TO_LABELS",
    "KnownLabels",
    "MapParams",
    "PairAccumulator",
    "SyntheticFile",
    "choose_tau",
    "format_table",
    "manifest_path",
    "map_synthetic",
    "matrix_fingerprint",
    "propose_pairs",
    "read_rows",
    "resolve_known",
    "sweep_tau",
    "tau_table",
    "write_mapping",
]
