"""Datasets with complete labels and the paper's click-bias simulations.

:func:`build_wordnet_dataset` builds the embedded WordNet 3.0 nouns dataset (synset -> hypernym
ancestors); :func:`simulate_bias` turns complete labels into click-like observed ones
(exposure top-K, sigmoid click model, or missing-at-random control).
"""

from skim.simulate.bias import simulate_bias
from skim.simulate.params import SimulateParams
from skim.simulate.wordnet import (
    NOUN_LEXFILES,
    Synset,
    build_wordnet_dataset,
    read_noun_synsets,
    wordnet_dataset,
)

__all__ = [
    "NOUN_LEXFILES",
    "SimulateParams",
    "Synset",
    "build_wordnet_dataset",
    "read_noun_synsets",
    "simulate_bias",
    "wordnet_dataset",
]
