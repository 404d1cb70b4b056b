"""Checked values shared by every command and stage: argparse types and their library twin.

The command lines parse counts, sizes, seeds, rates and fractions with the argparse types
below (``positive_int``, ...); a library function checks an argument it was given with
:func:`check_positive_int`, which says the same thing as a :class:`~skim.errors.SkimError`.
Kept low (it imports only :mod:`skim.errors`) so that every stage can use it.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from skim.errors import SkimError


def parse_k(text: str) -> list[int]:
    """Parse a comma-separated list of cut-offs such as ``1,5,10``."""
    try:
        ks = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers like 1,5,10, got {text!r}") from None
    if not ks or min(ks) < 1:
        raise argparse.ArgumentTypeError(f"cut-offs must be positive, got {text!r}")
    return ks


def _checked_number(kind: type, what: str, ok: Callable[[float], bool]) -> Callable[[str], Any]:
    """An argparse type: ``kind(text)``, finite and ``ok``, else an error saying ``what``."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or not ok(value):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    parse.__name__ = what.replace(" ", "_")
    return parse


# argparse types shared by every command: counts, sizes, seeds, rates and fractions
positive_int = _checked_number(int, "a positive integer", lambda v: v >= 1)
non_negative_int = _checked_number(int, "an integer >= 0", lambda v: v >= 0)
positive_float = _checked_number(float, "a positive number", lambda v: v > 0)
non_negative_float = _checked_number(float, "a number >= 0", lambda v: v >= 0)
fraction = _checked_number(float, "a number in (0, 1]", lambda v: 0 < v <= 1)

MATRIX_SUFFIXES = (".npz", ".txt")


def matrix_path(text: str) -> str:
    """An argparse type: a label-matrix file to write, ending in ``.npz`` or ``.txt``."""
    if Path(text).suffix not in MATRIX_SUFFIXES:
        raise argparse.ArgumentTypeError(
            f"{text!r} must end in .npz (compressed) or .txt (XC text format)"
        )
    return text


def npz_path(text: str) -> str:
    """An argparse type: a file to write that must end in ``.npz``."""
    if Path(text).suffix != ".npz":
        raise argparse.ArgumentTypeError(f"{text!r} must end in .npz")
    return text


def check_positive_int(name: str, value: Any) -> None:
    """Raise a SkimError unless ``value`` is an integer >= 1 (a bool is not), as
    :data:`positive_int` does for a command-line value."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise SkimError(f"{name} must be a positive integer, got {value!r}")
