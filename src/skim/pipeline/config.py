"""The ``skim run`` configuration: a TOML file, checked key by key against one schema."""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from skim._io import check_output
from skim.data.readfile import read_text
from skim.direction import DIRECTIONS
from skim.distill.params import PRECISIONS, DistillParams
from skim.errors import SkimError
from skim.evaluate.metrics import EMPTY_ROWS
from skim.evaluate.params import EvaluateParams
from skim.generate.params import GenerateParams
from skim.generate.registry import RUNS
from skim.index.build import INDEX_KINDS
from skim.learners.params import TrainParams
from skim.learners.registry import LEARNERS, METHODS
from skim.map.params import MapParams
from skim.scale.cluster import RayOptions
from skim.simulate.builders import BUILDERS
from skim.simulate.params import CLICK_MODELS
from skim.teach.params import TeachParams

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

_ANY_STR = (str, type(None))
_NUM = (int, float)
_MODELS = ("hf", "vllm", "openai")

# [generate] keys that are settings of the model generators (GenerateParams.options), with their
# types and the registered generators that take each; unset: that generator's default. A key is
# passed only to the runs of those generators (vLLM's engine settings mean nothing to hf).
GENERATOR_OPTIONS: dict[str, tuple[tuple[type, ...], tuple[str, ...]]] = {
    "max_new_tokens": ((int, type(None)), _MODELS),
    "temperature": ((int, float, type(None)), _MODELS),
    "tensor_parallel_size": ((int, type(None)), ("vllm",)),
    "gpu_memory_utilization": ((int, float, type(None)), ("vllm",)),
    "max_model_len": ((int, type(None)), ("vllm",)),
}

# The command line's names, accepted in a config for the same thing: skim teach --teacher llm
# is [teach] teacher = "endpoint", skim generate --generator hf is the pipeline's slm run.
TEACHER_ALIASES = {"llm": "endpoint"}
GENERATOR_ALIASES = {"hf": "slm"}


def _default(params: type, name: str) -> Any:
    """The default of field ``name`` of a stage's parameters dataclass: written once, there."""
    found = next(f for f in dataclasses.fields(params) if f.name == name)
    if found.default_factory is not dataclasses.MISSING:
        return found.default_factory()
    return found.default


def _of(params: type, types: tuple[type, ...], name: str) -> tuple[tuple[type, ...], Any]:
    return types, _default(params, name)


# section -> key -> (accepted types, default). A default of None means "unset". A key that is
# a setting of a stage takes its default from the stage's parameters dataclass.
SCHEMA: dict[str, dict[str, tuple[tuple[type, ...], Any]]] = {
    # device: the torch device of distill, the hf generator and the learners (None: a GPU if
    # there is one); it changes where the stages run, not what they write, so no stamp has it
    "run": {"out": (_ANY_STR, None), "seed": ((int,), 0), "device": (_ANY_STR, None)},
    "dataset": {
        "path": (_ANY_STR, None),
        "builder": (_ANY_STR, None),
        "depth": ((int, str), 2),  # or "all": every ancestor up to the root
        "exposure_topk": ((int,), 200),
        "lexfiles": ((list, type(None)), None),
        "source": (_ANY_STR, None),
        "encoder": (_ANY_STR, None),
    },
    "simulate": {
        "exposure_topk": ((int,), 200),
        "encoder": (_ANY_STR, None),
        "click_model": (_ANY_STR, None),
        "temperature": (_NUM, 0.1),
        "mar_fraction": ((float, type(None)), None),
    },
    "teach": {
        "teacher": ((str,), "gold"),
        "seed_fraction": (_NUM, 0.02),
        "endpoint": _of(TeachParams, _ANY_STR, "endpoint"),
        "model": _of(TeachParams, _ANY_STR, "model"),
        "n": _of(TeachParams, (int,), "n"),
        "sample": _of(TeachParams, (int, float, type(None)), "sample"),
        "concurrency": _of(TeachParams, (int,), "concurrency"),
        "max_rpm": _of(TeachParams, (int, type(None)), "max_rpm"),
        "batch_api": _of(TeachParams, (bool,), "batch_api"),
    },
    "distill": {
        "base": _of(DistillParams, _ANY_STR, "base"),
        "from_scratch": ((bool,), True),  # offline by default: no pretrained model to fetch
        "epochs": _of(DistillParams, _NUM, "epochs"),
        "lora_r": _of(DistillParams, (int,), "lora_r"),
        "max_steps": _of(DistillParams, (int, type(None)), "max_steps"),
        "observed_demos": ((int,), 0),
        "hidden_size": _of(DistillParams, (int,), "hidden_size"),
        "num_layers": _of(DistillParams, (int,), "num_layers"),
        "batch_size": _of(DistillParams, (int,), "batch_size"),
        "gradient_accumulation": _of(DistillParams, (int,), "gradient_accumulation"),
        "gradient_checkpointing": _of(DistillParams, (bool,), "gradient_checkpointing"),
        "precision": _of(DistillParams, (str,), "precision"),
        "learning_rate": _of(DistillParams, (int, float, type(None)), "learning_rate"),
    },
    "generate": {
        "direction": ((str,), "queries-to-labels"),
        "generators": ((list,), ["extractive"]),
        "num_return": ((int,), 5),
        "no_metadata": ((bool,), False),
        "model": _of(GenerateParams, _ANY_STR, "model"),  # the openai generator's
        "student": (_ANY_STR, None),  # a distilled folder: the model generators skip distill
        "model_items": ((int, type(None)), None),
        **{key: (types, None) for key, (types, _) in GENERATOR_OPTIONS.items()},
    },
    "map": {
        "tau": _of(MapParams, (int, float, str), "tau"),
        "topk": _of(MapParams, (int,), "topk"),
        "encoder": _of(MapParams, _ANY_STR, "encoder"),
        "index": _of(MapParams, (str,), "index"),
        "target_precision": _of(MapParams, (float, type(None)), "target_precision"),
        "min_votes": _of(MapParams, (int,), "min_votes"),
        "agree_learner": (_ANY_STR, None),
        "agree_topk": _of(MapParams, (int,), "agree_topk"),
        "calibrated": _of(MapParams, (bool,), "calibrated"),
    },
    "train": {
        "learners": ((list,), ["ova", "dual"]),
        "methods": ((list,), ["none"]),
        "oracle": ((bool,), True),
        "epochs": ((int, dict, type(None)), None),  # None: train's default
        "encoder": _of(TrainParams, _ANY_STR, "encoder"),
        "with_metadata": _of(TrainParams, (bool,), "with_metadata"),
    },
    "evaluate": {
        "k": _of(EvaluateParams, (list,), "k"),
        "empty_rows": _of(EvaluateParams, (str,), "empty_rows"),
    },
    # generate (extractive, hf) and map on a Ray cluster: "local", "auto", "HOST:PORT"
    "ray": {
        "address": (_ANY_STR, None),  # None: one process (RayOptions' own default is "local")
        "actors": _of(RayOptions, (int, type(None)), "actors"),
        "cpus_per_actor": _of(RayOptions, _NUM, "cpus_per_actor"),
    },
}

RUN_CONTROLS = ("mar",)  # the pipeline's MAR control, a method name beside the learners' ones


def _whole(low: int) -> tuple[Callable[[Any], bool], str]:
    return (lambda v: isinstance(v, int) and v >= low), f"an integer >= {low}"


def _interval(low: float, high: float, low_open: bool) -> tuple[Callable[[Any], bool], str]:
    def ok(v: Any) -> bool:
        return math.isfinite(v) and (low < v if low_open else low <= v) and v <= high

    return ok, f"in {'(' if low_open else '['}{low:g}, {high:g}]"


_POSITIVE = (lambda v: math.isfinite(v) and v > 0), "a positive number"

# section -> key -> (test of a value that is set, what it must be): checked after the types
BOUNDS: dict[str, dict[str, tuple[Callable[[Any], bool], str]]] = {
    "run": {"seed": _whole(0)},
    "dataset": {"exposure_topk": _whole(0)},  # depth: parse_depth below (an int or "all")
    "simulate": {
        "exposure_topk": _whole(0),
        "temperature": _POSITIVE,
        "mar_fraction": _interval(0, 1, low_open=True),
    },
    "teach": {
        "seed_fraction": _interval(0, 1, low_open=True),
        "n": _whole(1),
        "sample": (
            lambda v: v >= 1 if isinstance(v, int) else math.isfinite(v) and 0 < v <= 1,
            "a count >= 1 or a fraction in (0, 1]",
        ),
        "concurrency": _whole(1),
        "max_rpm": _whole(1),
    },
    "distill": {
        "epochs": _POSITIVE,
        "lora_r": _whole(1),
        "max_steps": _whole(1),
        "observed_demos": _whole(0),
        "hidden_size": _whole(1),
        "num_layers": _whole(1),
        "batch_size": _whole(1),
        "gradient_accumulation": _whole(1),
        "learning_rate": _POSITIVE,
    },
    "generate": {
        "num_return": _whole(1),
        "model_items": _whole(1),
        "max_new_tokens": _whole(1),
        "temperature": ((lambda v: math.isfinite(v) and v >= 0), "a number >= 0"),
        "tensor_parallel_size": _whole(1),
        "gpu_memory_utilization": _interval(0, 1, low_open=True),
        "max_model_len": _whole(1),
    },
    "map": {
        "topk": _whole(1),
        "target_precision": _interval(0, 1, low_open=True),
        "min_votes": _whole(1),
        "agree_topk": _whole(1),
    },
    "train": {"epochs": (lambda v: isinstance(v, dict) or v >= 1, "an integer >= 1")},
    "ray": {"actors": _whole(1), "cpus_per_actor": _POSITIVE},
}


def _fail(where: str, message: str) -> SkimError:
    return SkimError(f"{where}: {message}")


def check_config(raw: dict[str, Any], where: str = "config") -> dict[str, dict[str, Any]]:
    """Fill defaults and check every key; raise one clear SkimError for the first problem."""
    unknown = sorted(set(raw) - set(SCHEMA))
    if unknown:
        raise _fail(where, f"unknown section [{unknown[0]}]; known: {', '.join(SCHEMA)}")
    config: dict[str, dict[str, Any]] = {}
    for section, keys in SCHEMA.items():
        given = raw.get(section, {})
        if not isinstance(given, dict):
            raise _fail(where, f"[{section}] must be a table")
        bad = sorted(set(given) - set(keys))
        if bad:
            raise _fail(where, f"unknown key {bad[0]!r} in [{section}]; known: {', '.join(keys)}")
        values = {}
        for key, (types, default) in keys.items():
            value = given.get(key, copy.deepcopy(default))
            if isinstance(value, bool) and bool not in types:
                raise _fail(where, f"[{section}] {key} must not be true/false")
            if not isinstance(value, types):
                names = " or ".join(t.__name__ for t in types if t is not type(None))
                raise _fail(where, f"[{section}] {key} must be {names}, got {value!r}")
            values[key] = value
        config[section] = values
    config["_present"] = {s: s in raw for s in SCHEMA}
    _canonical_names(config)
    _check_values(config, where)
    return config


def _canonical_names(config: dict[str, Any]) -> None:
    """The command line's names (:data:`TEACHER_ALIASES`, :data:`GENERATOR_ALIASES`) as the
    config's own, so the stamps, the report's rows and the saved config do not depend on the
    spelling."""
    teach, gen = config["teach"], config["generate"]
    teach["teacher"] = TEACHER_ALIASES.get(teach["teacher"], teach["teacher"])
    gen["generators"] = [
        GENERATOR_ALIASES.get(name, name) if isinstance(name, str) else name
        for name in gen["generators"]
    ]


def _check_values(config: dict[str, Any], where: str) -> None:
    for section, keys in BOUNDS.items():
        for key, (ok, what) in keys.items():
            value = config[section][key]
            if value is not None and not ok(value):
                raise _fail(where, f"[{section}] {key} must be {what}, got {value!r}")
    _check_device(config, where)
    ds = config["dataset"]
    if (ds["path"] is None) == (ds["builder"] is None):
        raise _fail(where, '[dataset] needs exactly one of path = "DIR" or builder = "wordnet"')
    if ds["builder"] is not None and ds["builder"] not in BUILDERS:
        raise _fail(where, f"[dataset] builder must be one of {', '.join(BUILDERS)}")
    from skim.simulate.wordnet import parse_depth

    try:
        parse_depth(ds["depth"])
    except SkimError as exc:
        raise _fail(where, f"[dataset] {str(exc).replace('--depth', 'depth')}") from None
    gen = config["generate"]
    if gen["direction"] not in DIRECTIONS:
        raise _fail(where, f"[generate] direction must be one of {', '.join(DIRECTIONS)}")
    _check_names(where, "generate", "generators", gen["generators"], RUNS, "generator")
    teach = config["teach"]
    for name in gen["generators"]:
        if RUNS[name].endpoint and not (teach["endpoint"] and (gen["model"] or teach["model"])):
            raise _fail(
                where, f'[generate] generator "{name}" needs [teach] endpoint and a model '
                "([generate] model or [teach] model)",
            )  # fmt: skip
    _check_generator_keys(gen, where)
    _check_names(where, "train", "learners", config["train"]["learners"], LEARNERS, "learner")
    if not config["train"]["learners"]:
        raise _fail(where, f"[train] learners must name at least one of {', '.join(LEARNERS)}")
    check_methods(config["train"]["methods"], where)
    if config["dataset"]["lexfiles"] is not None:
        _check_names(where, "dataset", "lexfiles", ds["lexfiles"], None, "lexfile")
    if config["simulate"]["click_model"] not in (None, *CLICK_MODELS):
        raise _fail(where, f"[simulate] click_model must be one of {', '.join(CLICK_MODELS)}")
    if config["map"]["index"] not in INDEX_KINDS:
        raise _fail(where, f"[map] index must be one of {', '.join(INDEX_KINDS)}")
    if teach["teacher"] not in ("gold", "endpoint"):
        raise _fail(where, '[teach] teacher must be "gold" or "endpoint" (or "llm", the same)')
    if config["distill"]["precision"] not in PRECISIONS:
        raise _fail(where, f"[distill] precision must be one of {', '.join(PRECISIONS)}")
    if teach["teacher"] == "endpoint" and not (teach["endpoint"] and teach["model"]):
        raise _fail(where, '[teach] teacher = "endpoint" needs endpoint and model')
    tau = config["map"]["tau"]
    if isinstance(tau, str) and tau != "auto":
        raise _fail(where, '[map] tau must be a number or "auto"')
    if not isinstance(tau, str) and not _interval(0, 1, low_open=False)[0](tau):
        raise _fail(where, f'[map] tau must be in [0, 1] or "auto", got {tau!r}')
    if tau == "auto" and config["map"]["target_precision"] is None:
        raise _fail(where, '[map] tau = "auto" needs target_precision')
    agree = config["map"]["agree_learner"]
    if agree is not None and agree not in LEARNERS:
        raise _fail(where, f"[map] agree_learner must be one of {', '.join(LEARNERS)}")
    epochs = config["train"]["epochs"]
    if isinstance(epochs, dict) and not all(
        name in LEARNERS and isinstance(n, int) and not isinstance(n, bool) and n > 0
        for name, n in epochs.items()
    ):
        raise _fail(where, "[train] epochs must be a number or a table like {ova = 1, dual = 3}")
    ks = config["evaluate"]["k"]
    if not ks or not all(isinstance(k, int) and not isinstance(k, bool) and k > 0 for k in ks):
        raise _fail(where, "[evaluate] k must be a non-empty list of positive integers")
    if config["evaluate"]["empty_rows"] not in EMPTY_ROWS:
        raise _fail(where, f"[evaluate] empty_rows must be one of {', '.join(EMPTY_ROWS)}")


def runs_using(key: str) -> tuple[str, ...]:
    """The generator runs (:data:`RUNS` names) that use ``[generate] key``: those of a
    generator that takes a :data:`GENERATOR_OPTIONS` key, the endpoint runs for ``model``, the
    student runs for ``student``; empty for a key every run reads."""
    if key in GENERATOR_OPTIONS:
        return tuple(n for n in RUNS if RUNS[n].generator in GENERATOR_OPTIONS[key][1])
    if key in ("model", "student"):
        return tuple(n for n in RUNS if (RUNS[n].endpoint if key == "model" else RUNS[n].student))
    return ()


def _check_generator_keys(gen: dict[str, Any], where: str) -> None:
    """A generator setting, the openai model or the student folder is set only where one of
    ``generators`` uses it (else it would be silently ignored)."""
    for key in gen:
        users = runs_using(key)
        if users and gen[key] is not None and not set(gen["generators"]) & set(users):
            hint = "; a distilled student folder is [generate] student" if key == "model" else ""
            raise _fail(
                where,
                f"[generate] {key} is a setting of the {_names(users)} generator runs, and "
                f"generators names none of them{hint}",
            )


def _names(names: Sequence[str]) -> str:
    quoted = [f'"{name}"' for name in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def check_methods(methods: list[Any], where: str = "config") -> None:
    """Every name in ``methods`` is a known training method or control, none twice."""
    _check_names(where, "train", "methods", methods, (*METHODS, *RUN_CONTROLS), "method")


def _check_names(
    where: str, section: str, key: str, names: list[Any], known: Sequence[str] | None, what: str
) -> None:
    """A list of distinct strings, each one of ``known`` (any string when None)."""
    for name in names:
        if not isinstance(name, str) or (known is not None and name not in known):
            choices = f"; known: {', '.join(known)}" if known is not None else ""
            raise _fail(where, f"[{section}] {key}: unknown {what} {name!r}{choices}")
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise _fail(where, f"[{section}] {key} names {twice!r} twice")


def _check_device(config: dict[str, Any], where: str) -> None:
    """``[run] device`` is one this machine has (no GPU: one sentence, before any stage)."""
    if config["run"]["device"] is not None:
        from skim.devices import resolve_device

        try:
            resolve_device(config["run"]["device"])
        except SkimError as exc:
            raise _fail(where, f"[run] {exc}") from None


def load_config(
    path: str | os.PathLike, out: str | None = None, device: str | None = None
) -> dict[str, dict[str, Any]]:
    """Read and check a TOML config, all of it, before anything runs; ``out`` and ``device``
    override ``[run] out`` and ``[run] device``. Every error names the file and the key."""
    path = Path(path)
    try:
        raw = tomllib.loads(read_text(path))  # a directory, link loop, bad UTF-8: one sentence
    except tomllib.TOMLDecodeError as exc:
        raise SkimError(f"{path}: not valid TOML ({exc})") from None
    config = check_config(raw, str(path))
    if out is not None:
        config["run"]["out"] = out
    if device is not None:
        config["run"]["device"] = device
        _check_device(config, "--device")
    if not config["run"]["out"]:
        raise SkimError(f"{path}: [run] out (the output folder) is required, or pass --out")
    check_output(config["run"]["out"], folder=True)
    base = path.parent
    ds_path = config["dataset"]["path"]
    if ds_path is not None and not Path(ds_path).is_absolute():
        config["dataset"]["path"] = str(base / ds_path)
    if ds_path is not None and not Path(config["dataset"]["path"]).is_dir():
        raise SkimError(f"{path}: [dataset] path {ds_path!r} is not a folder")
    student = config["distill"]["base"]  # a .gguf file is a path; a HF name or gemma3-270m not
    if student and student.lower().endswith(".gguf") and not Path(student).is_absolute():
        config["distill"]["base"] = str(base / student)
    return config
