"""Named extension points: one registry per kind of pluggable part (generator, learner, ...).

A registry maps a user-facing name to an entry (the implementation and its defaults), in
registration order. It behaves as a read-only mapping, so the command lines take it as their
``choices`` and the config checks ``name in registry``: both see a part as soon as it is
registered, with no list to keep in step. Entries may name their implementation lazily as
``"package.module:attribute"`` (see :func:`load`), so that listing the choices of a command
never imports torch or transformers.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from skim.errors import SkimError

Entry = TypeVar("Entry")


class Registry(Mapping[str, Entry], Generic[Entry]):
    """Names -> entries of one extension point, say a ``what`` ("generator", "learner")."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._entries: dict[str, Entry] = {}

    def register(self, name: str, entry: Entry) -> Entry:
        """Add ``entry`` under ``name``; a name registered twice is a programming error."""
        if name in self._entries:
            raise ValueError(f"{self.what} {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def unregister(self, name: str) -> None:
        """Remove ``name`` (a test's toy part, once the test is done)."""
        del self._entries[name]

    def lookup(self, name: str) -> Entry:
        """The entry of ``name``; SkimError naming the known ones if there is none."""
        if name not in self._entries:
            raise SkimError(f"unknown {self.what} {name!r}; choose one of {', '.join(self)}")
        return self._entries[name]

    def help_text(self) -> str:
        """``name: help; ...`` of every entry (entries with a ``help`` attribute), for a
        command line's help."""
        return "; ".join(f"{name}: {getattr(entry, 'help', '')}" for name, entry in self.items())

    def __getitem__(self, name: str) -> Entry:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.what!r}: {', '.join(self)})"


def load(ref: Callable[..., Any] | str) -> Callable[..., Any]:
    """``ref`` itself, or the attribute that ``"package.module:attribute"`` names (imported
    now, on first use)."""
    if not isinstance(ref, str):
        return ref
    module, _, attribute = ref.partition(":")
    return getattr(importlib.import_module(module), attribute)
