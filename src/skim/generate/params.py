"""Every setting of a generation run (:func:`skim.generate.generate`), once."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from skim._params import StageParams, runtime
from skim.argtypes import check_positive_int

if TYPE_CHECKING:
    from skim.scale.cluster import RayOptions


@dataclass
class GenerateParams(StageParams):
    """Settings of :func:`skim.generate.generate`.

    Parameters
    ----------
    generator
        ``extractive`` | ``hf`` | ``vllm`` | ``openai``.
    model, adapter
        Model name/folder and LoRA adapter for ``hf``/``vllm`` (a distilled folder suffices);
        the model name for ``openai``.
    no_metadata
        Prompts without metadata (UDAPDR-style ablation); None follows the distilled model.
    num_return
        Sampled completions per item (``hf``/``vllm``) or texts per item (``extractive``,
        ``openai``); None: the generator's default.
    shard_size
        Items per shard: the unit of progress that survives a crash.
    seed
        Sampling seed.
    options
        Generator-specific settings (``temperature``, ``max_new_tokens``, ``batch_size``, ...).
    device
        Torch device of a generator that runs a model here (``hf``; None: a GPU if there is
        one); checked whatever the generator, so a missing GPU is one sentence.
    overwrite
        Discard shards left by a run with other settings instead of refusing.
    show_progress
        Show a progress bar.
    ray
        Generate the shards in a Ray actor pool (``extractive`` and ``hf``, see
        :mod:`skim.generate.ray_run`); None: in this process. Where a run goes, not what it
        writes (the same records), so it is a runtime field, out of :meth:`to_dict`.
    """

    generator: str = "extractive"
    model: str | None = None
    adapter: str | None = None
    no_metadata: bool | None = None
    num_return: int | None = None
    shard_size: int = 1000
    seed: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    device: str | None = runtime()
    overwrite: bool = runtime(False)
    show_progress: bool = runtime(True)
    ray: RayOptions | None = runtime()

    def __post_init__(self) -> None:
        check_positive_int("shard_size", self.shard_size)
        if self.num_return is not None:  # None: the generator's default (0 is no default)
            check_positive_int("num_return", self.num_return)

    @classmethod
    def build(
        cls, params: GenerateParams | None, where: str = "generate", **overrides: Any
    ) -> GenerateParams:
        """Like :meth:`StageParams.build`; a keyword that is no field is a generator option."""
        names = {f.name for f in dataclasses.fields(cls)}
        options = {k: v for k, v in overrides.items() if k not in names}
        fields = {k: v for k, v in overrides.items() if k in names}
        built = super().build(params, where, **fields)
        if options:
            built = dataclasses.replace(built, options={**built.options, **options})
        return built
