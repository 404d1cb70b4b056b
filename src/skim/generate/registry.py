"""The generators ``skim generate`` and ``skim run`` can use, by name.

A generator is registered once, here, with a builder (how to make it for a dataset and a
direction), its default number of texts per item and a line of help; the command line's
``--generator`` choices and help, :func:`skim.generate.make_generator` and the pipeline read
it from :data:`GENERATORS`. ``skim run`` names its generator runs in :data:`RUNS`: every
generator under its own name, except the transformers one, which the pipeline runs on the
distilled student as ``slm`` (with metadata) and ``udapdr`` (without: the paper's UDAPDR-style
ablation).

Adding a generator: write its module (a class with ``name``, ``settings`` and
``generate(items)``, see :class:`skim.generate.base.Generator`, and a builder with the
signature of :data:`Builder`), then add one ``register_generator(...)`` line below.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from skim.data import Dataset
from skim.direction import target_texts
from skim.errors import SkimError
from skim.generate.base import Generator
from skim.registry import Registry, load

Builder = Callable[..., Generator]
"""``build(dataset, direction, *, model, adapter, no_metadata, num_return, seed, **options)``;
``num_return`` arrives with the generator's default already filled in."""


@dataclass(frozen=True)
class GeneratorEntry:
    """A registered generator: its builder (or ``"module:function"``), defaults and help;
    ``device``: the builder takes ``device=`` (a torch model run here)."""

    build: Builder | str
    help: str
    num_return: int = 10
    device: bool = False


@dataclass(frozen=True)
class RunEntry:
    """How ``skim run`` runs a generator under a name of its own.

    Attributes
    ----------
    generator
        The registered generator it runs.
    student
        Runs on the distilled student (``[generate] student`` or the pipeline's own distill
        stage), on the ``model_items`` sample of items.
    endpoint
        Runs on ``[teach] endpoint`` with ``[generate] model`` (unset: ``[teach] model``),
        which must then be set.
    no_metadata
        True or False: fixed for this run; None: ``[generate] no_metadata`` (a non-student
        run) or as the student was distilled.
    label
        Its row in the report (default ``SKIM (<name>)``).
    """

    generator: str
    student: bool = False
    endpoint: bool = False
    no_metadata: bool | None = None
    label: str | None = None


GENERATORS: Registry[GeneratorEntry] = Registry("generator")
RUNS: Registry[RunEntry] = Registry("generator")


def register_generator(name: str, entry: GeneratorEntry, run: bool = True) -> GeneratorEntry:
    """Register generator ``name``; with ``run``, ``skim run`` offers it under that name."""
    GENERATORS.register(name, entry)
    if run:
        RUNS.register(name, RunEntry(name))
    return entry


def check_options(name: str, cls: type, options: dict[str, Any]) -> None:
    """SkimError for a setting the generator does not take (e.g. --top-k for extractive)."""
    parameters = inspect.signature(cls).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    unknown = sorted(set(options) - set(parameters))
    if unknown:
        flag = "--" + unknown[0].replace("_", "-")
        raise SkimError(f"the {name} generator has no setting {unknown[0]} ({flag})")


def dataset_texts(dataset: Dataset) -> list[str]:
    """Every text of ``dataset``: train queries and labels, with their metadata."""
    parts = (dataset.trn_texts, dataset.trn_meta, dataset.label_texts, dataset.label_meta)
    return [text for part in parts if part for text in part]


def _extractive(
    dataset: Dataset,
    direction: str,
    *,
    model: str | None,
    adapter: str | None,
    no_metadata: bool,
    num_return: int,
    seed: int,
    **options: Any,
) -> Generator:
    from skim.generate.extractive import ExtractiveGenerator

    if no_metadata:
        raise SkimError("the extractive generator reads metadata; it cannot run --no-metadata")
    check_options("extractive", ExtractiveGenerator, options)
    return ExtractiveGenerator(dataset, direction, num_return=num_return, **options)


def _student(name: str, cls_ref: str) -> Builder:
    """The builder of a generator that runs a (distilled) causal LM: hf or vllm."""

    def build(
        dataset: Dataset,
        direction: str,
        *,
        model: str | None,
        adapter: str | None,
        no_metadata: bool,
        num_return: int,
        seed: int,
        **options: Any,
    ) -> Generator:
        cls = load(cls_ref)
        check_options(name, cls, options)
        if options.get("vocabulary") == "dataset":
            options["vocabulary_texts"] = dataset_texts(dataset)
        if options.get("constrain") == "labels":
            options["constraint_texts"] = target_texts(dataset, direction)
        return cls(
            model,
            adapter,
            direction=direction,
            no_metadata=no_metadata,
            num_return=num_return,
            seed=seed,
            **options,
        )

    return build


def _openai(
    dataset: Dataset,
    direction: str,
    *,
    model: str | None,
    adapter: str | None,
    no_metadata: bool,
    num_return: int,
    seed: int,
    **options: Any,
) -> Generator:
    from skim.generate.openai import OpenAIGenerator

    if not model:
        raise SkimError("the openai generator needs --model (the endpoint's model name)")
    if "max_new_tokens" in options:  # the endpoint calls it max_tokens
        options["max_tokens"] = options.pop("max_new_tokens")
    check_options("openai", OpenAIGenerator, options)
    return OpenAIGenerator(
        model,
        direction=direction,
        no_metadata=no_metadata,
        num_return=num_return,
        seed=seed,
        **options,
    )


# the built-in generators, in the order the command line and the config list them
register_generator(
    "extractive", GeneratorEntry(_extractive, "key phrases of the metadata (offline, no model)")
)
register_generator(
    "hf",
    GeneratorEntry(
        _student("hf", "skim.generate.hf:HFGenerator"),
        "the distilled student with transformers (--model, --adapter)",
        num_return=1,
        device=True,
    ),
    run=False,
)
RUNS.register("slm", RunEntry("hf", student=True, no_metadata=False))
register_generator(
    "vllm",
    GeneratorEntry(
        _student("vllm", "skim.generate.vllm:VLLMGenerator"),
        "the distilled student with vLLM (GPU)",
        num_return=1,
    ),
    run=False,
)
RUNS.register("vllm", RunEntry("vllm", student=True))
register_generator(
    "openai",
    GeneratorEntry(_openai, "an OpenAI-compatible endpoint (--endpoint, --model)"),
    run=False,
)
RUNS.register("openai", RunEntry("openai", endpoint=True))
RUNS.register(
    "udapdr", RunEntry("hf", student=True, no_metadata=True, label="UDAPDR (no metadata)")
)
