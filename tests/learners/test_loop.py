import numpy as np
import torch

from skim.learners.loop import Trainer, batches
from skim.learners.params import TrainParams

SUBNORMAL = 1e-320  # below float64's smallest normal number (2.2e-308)


def _is_flushed() -> bool:
    return torch.tensor([SUBNORMAL], dtype=torch.float64).item() == 0.0


def test_batches_cover_every_row_once_in_a_seeded_order():
    first = batches(10, 4, np.random.default_rng(0))
    again = batches(10, 4, np.random.default_rng(0))
    assert [len(b) for b in first] == [4, 4, 2]
    assert sorted(np.concatenate(first).tolist()) == list(range(10))
    assert all((a == b).all() for a, b in zip(first, again, strict=True))


def test_subnormals_are_flushed_only_while_an_epoch_runs():
    weight = torch.nn.Parameter(torch.ones(2))
    trainer = Trainer([weight], [], TrainParams(learner="dual"), show_progress=False)
    assert not _is_flushed()
    seen = []
    for _ in trainer.epoch(batches(4, 2, np.random.default_rng(0)), 0):
        seen.append(_is_flushed())
        trainer.step((weight**2).sum())
    assert seen == [True, True]
    assert not _is_flushed()
    assert len(trainer.history) == 1


def test_flushing_is_undone_when_training_fails():
    trainer = Trainer([torch.nn.Parameter(torch.ones(1))], [], TrainParams(), show_progress=False)
    try:
        for _ in trainer.epoch([np.arange(2)], 0):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert not _is_flushed()
