"""Dataset directory I/O and validation (the layout of DATASET.md)."""

from skim.data.dataset import Dataset, as_dataset, load_dataset, save_dataset
from skim.data.filters import read_filter, write_filter
from skim.data.output import check_dataset_dir_output, save_dataset_dir
from skim.data.propensity import inverse_propensity
from skim.data.sparse import canonical, load_matrix, resolve_matrix, save_matrix
from skim.data.textio import escape, read_texts, unescape, write_texts

__all__ = [
    "Dataset",
    "canonical",
    "check_dataset_dir_output",
    "escape",
    "inverse_propensity",
    "as_dataset",
    "load_dataset",
    "load_matrix",
    "read_filter",
    "read_texts",
    "resolve_matrix",
    "save_dataset",
    "save_dataset_dir",
    "save_matrix",
    "unescape",
    "write_filter",
    "write_texts",
]
