"""What every stage's parameters dataclass shares: settings vs runtime fields, overrides.

A stage (teach, distill, generate, map, train, evaluate) takes one dataclass of its settings, as
PECOS's ``TrainParams`` does: the stage's CLI fills it from its arguments, ``skim run`` builds
it from its config section, and the stage's skip-if-unchanged stamp is its :meth:`to_dict`.
Fields marked with :func:`runtime` (device, progress bar, cache folder, secrets) change how a
stage runs but not what it writes, so they stay out of :meth:`to_dict`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

P = TypeVar("P", bound="StageParams")


def runtime(default: Any = None, **kwargs: Any) -> Any:
    """A dataclass field that is not a setting: left out of ``to_dict()`` and of ``repr``."""
    return dataclasses.field(default=default, repr=False, metadata={"runtime": True}, **kwargs)


class StageParams:
    """Mixin for a stage's ``@dataclass`` of parameters."""

    def to_dict(self) -> dict[str, Any]:
        """The settings (runtime fields left out), e.g. the stage's stamp or manifest entry."""
        return {
            f.name: _plain(getattr(self, f.name))
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
            if not f.metadata.get("runtime")
        }

    @classmethod
    def from_dict(cls: type[P], values: dict[str, Any]) -> P:
        """Parameters from a stored dict; unknown keys (from a newer version) are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in values.items() if k in names})

    @classmethod
    def build(cls: type[P], params: P | None, where: str, **overrides: Any) -> P:
        """``params`` (default: every default) with ``overrides`` applied, as a function with
        one keyword argument per field would take them; ``where`` names that function in the
        TypeError for a keyword that is no field."""
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise TypeError(f"{where}() got an unexpected keyword argument {unknown[0]!r}")
        if params is None:
            return cls(**overrides)
        return dataclasses.replace(params, **overrides) if overrides else params  # type: ignore


def _plain(value: Any) -> Any:
    """A copy of lists and dicts, so a stored dict does not alias the parameters."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
