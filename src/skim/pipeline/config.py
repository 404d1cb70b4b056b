"""The ``skim run`` configuration: a TOML file, checked key by key against one schema."""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path
from typing import Any

from skim.errors import SkimError
from skim.learners.params import LEARNERS
from skim.map.pairs import DIRECTIONS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

_ANY_STR = (str, type(None))
_NUM = (int, float)

# section -> key -> (accepted types, default). A default of None means "unset".
SCHEMA: dict[str, dict[str, tuple[tuple[type, ...], Any]]] = {
    "run": {"out": (_ANY_STR, None), "seed": ((int,), 0)},
    "dataset": {
        "path": (_ANY_STR, None),
        "builder": (_ANY_STR, None),
        "depth": ((int,), 2),
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
        "endpoint": (_ANY_STR, None),
        "model": (_ANY_STR, None),
        "n": ((int,), 10),
        "sample": ((int, float, type(None)), None),
        "concurrency": ((int,), 8),
        "max_rpm": ((int, type(None)), None),
    },
    "distill": {
        "base": (_ANY_STR, None),
        "from_scratch": ((bool,), True),
        "epochs": (_NUM, 2),
        "lora_r": ((int,), 16),
        "max_steps": ((int, type(None)), None),
        "observed_demos": ((int,), 0),
        "hidden_size": ((int,), 256),
        "num_layers": ((int,), 4),
    },
    "generate": {
        "direction": ((str,), "queries-to-labels"),
        "generators": ((list,), ["extractive"]),
        "num_return": ((int,), 5),
        "no_metadata": ((bool,), False),
        "model": (_ANY_STR, None),
        "model_items": ((int, type(None)), None),
    },
    "map": {
        "tau": ((int, float, str), 0.8),
        "topk": ((int,), 10),
        "encoder": (_ANY_STR, None),
        "index": ((str,), "auto"),
        "target_precision": ((float, type(None)), None),
    },
    "train": {
        "learners": ((list,), ["ova", "dual"]),
        "methods": ((list,), ["none"]),
        "oracle": ((bool,), True),
        "epochs": ((int, dict, type(None)), None),
        "encoder": (_ANY_STR, None),
        "with_metadata": ((bool,), False),
    },
    "evaluate": {"k": ((list,), [1, 5, 10, 25, 100])},
}

GENERATORS = ("extractive", "slm", "vllm", "openai", "udapdr")
BUILDERS = ("wordnet",)


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
    _check_values(config, where)
    return config


def _check_values(config: dict[str, Any], where: str) -> None:
    ds = config["dataset"]
    if (ds["path"] is None) == (ds["builder"] is None):
        raise _fail(where, '[dataset] needs exactly one of path = "DIR" or builder = "wordnet"')
    if ds["builder"] is not None and ds["builder"] not in BUILDERS:
        raise _fail(where, f"[dataset] builder must be one of {', '.join(BUILDERS)}")
    gen = config["generate"]
    if gen["direction"] not in DIRECTIONS:
        raise _fail(where, f"[generate] direction must be one of {', '.join(DIRECTIONS)}")
    for name in gen["generators"]:
        if name not in GENERATORS:
            raise _fail(
                where, f"[generate] unknown generator {name!r}; known: {', '.join(GENERATORS)}"
            )
    for name in config["train"]["learners"]:
        if name not in LEARNERS:
            raise _fail(where, f"[train] unknown learner {name!r}; known: {', '.join(LEARNERS)}")
    teach = config["teach"]
    if teach["teacher"] not in ("gold", "endpoint"):
        raise _fail(where, '[teach] teacher must be "gold" or "endpoint"')
    if teach["teacher"] == "endpoint" and not (teach["endpoint"] and teach["model"]):
        raise _fail(where, '[teach] teacher = "endpoint" needs endpoint and model')
    if not 0 < float(teach["seed_fraction"]) <= 1:
        raise _fail(where, "[teach] seed_fraction must be in (0, 1]")
    tau = config["map"]["tau"]
    if isinstance(tau, str) and tau != "auto":
        raise _fail(where, '[map] tau must be a number or "auto"')
    if tau == "auto" and config["map"]["target_precision"] is None:
        raise _fail(where, '[map] tau = "auto" needs target_precision')
    epochs = config["train"]["epochs"]
    if isinstance(epochs, dict) and not all(
        name in LEARNERS and isinstance(n, int) and n > 0 for name, n in epochs.items()
    ):
        raise _fail(where, "[train] epochs must be a number or a table like {ova = 1, dual = 3}")
    if not all(isinstance(k, int) and k > 0 for k in config["evaluate"]["k"]):
        raise _fail(where, "[evaluate] k must be a list of positive integers")


def load_config(path: str | os.PathLike, out: str | None = None) -> dict[str, dict[str, Any]]:
    """Read and check a TOML config; ``out`` overrides ``[run] out``."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SkimError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise SkimError(f"{path}: not valid TOML ({exc})") from None
    config = check_config(raw, str(path))
    if out is not None:
        config["run"]["out"] = out
    if not config["run"]["out"]:
        raise SkimError(f"{path}: [run] out (the output folder) is required, or pass --out")
    base = path.parent
    ds_path = config["dataset"]["path"]
    if ds_path is not None and not Path(ds_path).is_absolute():
        config["dataset"]["path"] = str(base / ds_path)
    student = config["distill"]["base"]  # a .gguf file is a path; a HF name or gemma3-270m not
    if student and student.lower().endswith(".gguf") and not Path(student).is_absolute():
        config["distill"]["base"] = str(base / student)
    return config
