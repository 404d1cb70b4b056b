import numpy as np

from skim.learners.loop import batches


def test_batches_cover_every_row_once_in_a_seeded_order():
    first = batches(10, 4, np.random.default_rng(0))
    again = batches(10, 4, np.random.default_rng(0))
    assert [len(b) for b in first] == [4, 4, 2]
    assert sorted(np.concatenate(first).tolist()) == list(range(10))
    assert all((a == b).all() for a, b in zip(first, again, strict=True))
