from __future__ import annotations

import pytest

from skim.direction import (
    DIRECTIONS,
    LABELS_TO_QUERIES,
    QUERIES_TO_LABELS,
    check_direction,
    observed_partners,
    source_count,
    source_meta_file,
    source_texts,
    target_file,
    target_meta,
    target_texts,
)
from skim.errors import SkimError


def test_queries_to_labels_maps_train_queries_onto_labels(tiny_dataset):
    texts, meta = source_texts(tiny_dataset, QUERIES_TO_LABELS)
    assert texts[0] == "exon" and meta[2] == "a unit of heredity"
    assert target_texts(tiny_dataset, QUERIES_TO_LABELS)[1] == "nucleic acid"
    assert target_meta(tiny_dataset, QUERIES_TO_LABELS)[0] == "a series"
    assert source_count(tiny_dataset, QUERIES_TO_LABELS) == 3
    assert source_meta_file(QUERIES_TO_LABELS) == "trn_X.meta.txt"
    assert target_file(QUERIES_TO_LABELS) == "Y.txt"
    assert observed_partners(tiny_dataset, QUERIES_TO_LABELS).shape == (3, 4)


def test_labels_to_queries_swaps_the_sides(tiny_dataset):
    texts, meta = source_texts(tiny_dataset, LABELS_TO_QUERIES)
    assert texts[3] == "part" and meta[3] == "a portion"
    assert target_texts(tiny_dataset, LABELS_TO_QUERIES)[0] == "exon"
    assert target_meta(tiny_dataset, LABELS_TO_QUERIES)[1] == "a non-coding segment"
    assert source_count(tiny_dataset, LABELS_TO_QUERIES) == 4
    assert source_meta_file(LABELS_TO_QUERIES) == "Y.meta.txt"
    assert target_file(LABELS_TO_QUERIES) == "trn_X.txt"
    partners = observed_partners(tiny_dataset, LABELS_TO_QUERIES)
    assert partners.shape == (4, 3) and partners[2, 2] == 0.5


def test_an_unknown_direction_is_one_sentence(tiny_dataset):
    assert check_direction(DIRECTIONS[0]) == "labels-to-queries"
    with pytest.raises(SkimError, match="direction must be one of labels-to-queries, queries"):
        source_texts(tiny_dataset, "queries-to-queries")
