import numpy as np
import pytest

from skim.errors import SkimError
from skim.teach import sample_indices
from skim.teach.items import Item, build_items, item_key


def test_samples_are_sorted_seeded_and_nested():
    assert sample_indices(5, None).tolist() == [0, 1, 2, 3, 4]
    assert sample_indices(5, 1.0).tolist() == [0, 1, 2, 3, 4]
    assert sample_indices(5, 99).tolist() == [0, 1, 2, 3, 4]
    small, large = sample_indices(100, 10, seed=7), sample_indices(100, 0.3, seed=7)
    assert len(small) == 10 and len(large) == 30 and set(small) <= set(large)
    assert np.all(np.diff(large) > 0)
    assert sample_indices(100, 10, seed=8).tolist() != small.tolist()
    assert len(sample_indices(100, 0.001)) == 1  # at least one item


@pytest.mark.parametrize("bad", [0, -1, 0.0, 1.5, "10", True])
def test_bad_samples(bad):
    with pytest.raises(SkimError, match="sample"):
        sample_indices(10, bad)


def test_known_partners_are_observed_and_capped(gold_dataset):
    items = build_items(gold_dataset, "labels-to-queries", np.array([1, 2]), 5, None)
    assert items == [
        Item(1, "nucleic acid", "DNA or RNA", ("gene",)),
        Item(2, "unit", "a single thing", ("codon",)),
    ]
    shown = build_items(gold_dataset, "queries-to-labels", np.array([0, 1]), 1, None)
    assert [it.known for it in shown] == [("sequence",), ()]
    none = build_items(gold_dataset, "queries-to-labels", np.array([0]), 0, None)
    assert none[0].known == ()


def test_item_key_changes_with_every_part():
    item = Item(3, "exon", "meta", ("a",))
    base = item_key("m", "t", {"n": 10}, "queries-to-labels", item)
    assert base == item_key(
        "m", "t", {"n": 10}, "queries-to-labels", Item(3, "exon", "meta", ("a",))
    )
    variants = [
        item_key("other", "t", {"n": 10}, "queries-to-labels", item),
        item_key("m", "t2", {"n": 10}, "queries-to-labels", item),
        item_key("m", "t", {"n": 11}, "queries-to-labels", item),
        item_key("m", "t", {"n": 10}, "labels-to-queries", item),
        item_key("m", "t", {"n": 10}, "queries-to-labels", Item(4, "exon", "meta", ("a",))),
        item_key("m", "t", {"n": 10}, "queries-to-labels", Item(3, "exon", "meta2", ("a",))),
        item_key("m", "t", {"n": 10}, "queries-to-labels", Item(3, "exon", "meta", ())),
    ]
    assert len({base, *variants}) == 8
