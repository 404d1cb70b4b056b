"""Every setting of the click-bias simulation (:func:`skim.simulate.simulate_bias`), once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from skim._params import StageParams, runtime
from skim.errors import SkimError

if TYPE_CHECKING:
    from skim.scale.cluster import RayOptions

CLICK_MODELS = ("sigmoid",)
DEFAULT_TEMPERATURE = 1.0


@dataclass
class SimulateParams(StageParams):
    """Settings of :func:`skim.simulate.simulate_bias`.

    Parameters
    ----------
    exposure_topk
        K of the exposure simulation (Algorithm 1); None exposes every label.
    encoder
        The pretrained "deployed retriever": a :class:`skim.encode.TextEncoder`, a
        sentence-transformers name or path, or None for the bundled all-MiniLM-L6-v2. It ranks
        the label texts for each query text (not the metadata).
    click_model
        None (every exposed pair is clicked) or ``"sigmoid"``: keep with probability
        sigma(s / ``temperature``), s the pair's inner product of embeddings (the cosine for
        sentence-transformers encoders, which skim normalises).
    mar_fraction
        If given, ignore exposure and click model and keep a uniform random fraction of the
        true pairs (missing at random, the control of Figure 3).
    seed
        Seed of the click / MAR draws (train and test use independent streams).
    cache_dir
        Embedding cache: a rerun with the same texts and encoder does not encode again.
    device, show_progress
        Where the exposure search runs, and its progress bar.
    ray
        Encode the texts the cache lacks on a Ray cluster's actor pool
        (:class:`skim.scale.cluster.RayOptions`); None: in this process. The result is the
        same, so it is a runtime field, out of :meth:`to_dict`.
    """

    exposure_topk: int | None = 200
    encoder: Any = None
    click_model: str | None = None
    temperature: float = DEFAULT_TEMPERATURE
    mar_fraction: float | None = None
    seed: int = 0
    cache_dir: str | os.PathLike | None = runtime()
    device: str | None = runtime()
    show_progress: bool = runtime(True)
    ray: RayOptions | None = runtime()

    def __post_init__(self) -> None:
        if self.mar_fraction is not None:
            if not 0.0 <= self.mar_fraction <= 1.0:
                raise SkimError(f"--mar-fraction must be in [0, 1], got {self.mar_fraction}")
            if self.click_model is not None:
                raise SkimError("--mar-fraction replaces the exposure and click model; give one")
            return
        if self.exposure_topk is not None and self.exposure_topk < 1:
            raise SkimError(
                f"--exposure-topk must be a positive number of labels, got {self.exposure_topk}"
            )
        if self.exposure_topk is None and self.click_model is None:
            raise SkimError(
                "nothing to simulate: give --exposure-topk, --click-model or --mar-fraction"
            )
        if self.click_model is not None and self.click_model not in CLICK_MODELS:
            raise SkimError(
                f"--click-model must be one of {', '.join(CLICK_MODELS)}, got {self.click_model!r}"
            )
        if not self.temperature > 0:
            raise SkimError(f"--temperature must be positive, got {self.temperature}")
