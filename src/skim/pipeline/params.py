"""A ``skim run`` config as the composition of its stages' parameters objects.

:func:`skim.pipeline.config.check_config` checks the TOML tables key by key; :func:`run_params`
turns the checked tables into one parameters object per stage, so the run passes those objects
from stage to stage and the run's seed and direction are read in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from skim.distill.params import DistillParams
from skim.evaluate.params import EvaluateParams
from skim.generate.params import GenerateParams
from skim.learners.params import TrainParams
from skim.map.params import MapParams
from skim.scale.cluster import RayOptions
from skim.teach.params import TeachParams


@dataclass
class RunParams:
    """The stages' parameters of one run (the pipeline-only keys stay in the config tables:
    the teacher kind and seed fraction, the generators, the learners and methods, ...).

    ``epochs`` is ``[train] epochs``: one number for every learner, one per learner, or None
    (train's default). ``ray`` is ``[ray]`` (None without an address): the cluster the mapping,
    the training and the extractive and hf generator runs use, as their parameters' ``ray``
    field (and the dataset builder, the simulation and the prediction, as an argument).
    """

    seed: int
    direction: str
    epochs: int | dict[str, int] | None
    teach: TeachParams
    distill: DistillParams
    generate: GenerateParams
    map: MapParams
    train: TrainParams
    evaluate: EvaluateParams
    ray: RayOptions | None = None


def run_params(config: dict[str, Any]) -> RunParams:
    """The parameters objects of a checked config (see :func:`~skim.pipeline.check_config`).

    ``map.encoder`` is the config's value (``"dual"``: the run's dual model, resolved by the
    run); ``train`` holds the settings shared by every model (learner, method and epochs are
    set per model).
    """
    seed, device = config["run"]["seed"], config["run"]["device"]
    ray = RayOptions(**config["ray"]) if config["ray"]["address"] is not None else None
    teach, dist, gen, conf, train = (
        config[s] for s in ("teach", "distill", "generate", "map", "train")
    )
    return RunParams(
        seed=seed,
        direction=gen["direction"],
        epochs=train["epochs"],
        teach=TeachParams.from_dict({**teach, "seed": seed}),
        distill=DistillParams.from_dict(
            {
                **dist,
                "from_scratch": dist["from_scratch"] and dist["base"] is None,
                "seed": seed,
                "device": device,
            }
        ),
        generate=GenerateParams(num_return=gen["num_return"], seed=seed, device=device),
        map=MapParams.from_dict({**conf, "ray": ray}),
        train=TrainParams(
            seed=seed,
            with_metadata=train["with_metadata"],
            encoder=train["encoder"],
            ray=ray,
            device=device,
        ),
        evaluate=EvaluateParams(
            k=list(config["evaluate"]["k"]), empty_rows=config["evaluate"]["empty_rows"]
        ),
        ray=ray,
    )
