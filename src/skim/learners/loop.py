"""The optimisation loop shared by the learners: batches, Adam, progress bar with loss."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import torch

from skim._log import progress_enabled
from skim.learners.params import TrainParams


def batches(n: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """A seeded random permutation of ``range(n)`` cut into batches."""
    order = rng.permutation(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


class Trainer:
    """Adam over the head's parameters (``lr``) and an encoder's (``encoder_lr``), if any."""

    def __init__(
        self,
        head_parameters: Iterable[torch.nn.Parameter],
        encoder_parameters: Iterable[torch.nn.Parameter],
        params: TrainParams,
        show_progress: bool = True,
        desc: str | None = None,
    ) -> None:
        groups = [{"params": list(head_parameters), "lr": params.lr}]
        encoder_parameters = list(encoder_parameters)
        if encoder_parameters:
            groups.append({"params": encoder_parameters, "lr": params.encoder_lr})
        try:  # the fused kernel is several times faster on a wide label layer
            self.optimizer = torch.optim.Adam(groups, fused=True)
        except (RuntimeError, ValueError):
            self.optimizer = torch.optim.Adam(groups)
        self.params = params
        self.show_progress = show_progress
        self.desc = desc or params.learner
        self.history: list[float] = []
        self._bar = None
        self._sum = 0.0
        self._count = 0

    def epoch(self, rows: list[np.ndarray], epoch: int) -> Iterator[np.ndarray]:
        """Yield the batches of one epoch; record its mean loss when it ends."""
        from tqdm.auto import tqdm

        self._sum, self._count = 0.0, 0
        self._bar = tqdm(
            rows,
            desc=f"{self.desc} epoch {epoch + 1}/{self.params.epochs}",
            unit="batch",
            disable=not progress_enabled(self.show_progress),
            leave=False,
        )
        yield from self._bar
        self._bar.close()
        self.history.append(self._sum / max(self._count, 1))

    def step(self, loss: torch.Tensor) -> None:
        """One gradient step on ``loss``."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self._sum += float(loss.detach())
        self._count += 1
        if self._bar is not None and self._count % 10 == 1:
            self._bar.set_postfix(loss=f"{self._sum / self._count:.4f}")
