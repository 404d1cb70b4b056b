"""Prompt templates: the built-in Jinja2 templates of both task families, or a user's own.

A template sees these variables:

``text``       the item: a label's text (labels-to-queries) or a train query (queries-to-labels)
``metadata``   the item's metadata, already truncated (empty string when there is none)
``known``      known relevant texts to show (observed queries of a label, or labels of a query)
``n``          how many texts to ask for at most (``None``: no limit)
``direction``  ``"labels-to-queries"`` or ``"queries-to-labels"``

Built-in templates come in two roles: ``teacher`` (task, rules and a worked example, for a
large LLM) and ``student`` (the item part only, for the small model distilled from the
teacher's answers, as in the paper's appendix E.1).
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import jinja2
import jinja2.sandbox

from skim.direction import check_direction
from skim.errors import SkimError

ROLES = ("teacher", "student")


@dataclass(frozen=True)
class PromptTemplate:
    """A template's name (built-in name or file path) and its Jinja2 source."""

    name: str
    source: str

    @property
    def digest(self) -> str:
        """SHA-256 of the source: identifies the template in cache keys and manifests."""
        return hashlib.sha256(self.source.encode("utf-8")).hexdigest()

    def render(
        self,
        direction: str,
        text: str,
        metadata: str = "",
        known: Sequence[str] = (),
        n: int | None = None,
    ) -> str:
        """Fill the template; the result ends with exactly one newline."""
        check_direction(direction)
        try:
            out = _compile(self.source).render(
                direction=direction, text=text, metadata=metadata or "", known=list(known), n=n
            )
        except Exception as exc:  # the template is the user's code: any error it raises is theirs
            raise SkimError(f"{_where(self.name, exc)}: {_describe(exc)}") from None
        return out.strip("\n") + "\n"


def _where(name: str, exc: BaseException) -> str:
    """``template NAME, line L``: the template line that raised, found in the traceback."""
    line, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return f"template {name}" + (f", line {line}" if line else "")


def _describe(exc: Exception) -> str:
    if isinstance(exc, jinja2.TemplateError):
        return str(exc.message or exc)
    return f"cannot render ({type(exc).__name__}: {exc})"


_ENV = jinja2.sandbox.ImmutableSandboxedEnvironment(
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    autoescape=False,
)

MAX_RANGE = 10_000  # the longest range() a prompt template may build (jinja2's own bound: 100000)


def _bounded_range(*args: int) -> range:
    """``range`` for templates: one longer than :data:`MAX_RANGE` is a template error."""
    rng = range(*args)
    if len(rng) > MAX_RANGE:
        raise jinja2.sandbox.SecurityError(
            f"range() of {len(rng)} items is longer than the {MAX_RANGE} a template may build"
        )
    return rng


_ENV.globals["range"] = _bounded_range


@functools.lru_cache(maxsize=32)
def _compile(source: str) -> jinja2.Template:
    return _ENV.from_string(source)


def load_template(
    direction: str,
    template: str | os.PathLike | PromptTemplate | None = None,
    role: str = "teacher",
) -> PromptTemplate:
    """The built-in template for ``direction`` and ``role``, or the user's template file.

    Parameters
    ----------
    direction
        ``"labels-to-queries"`` or ``"queries-to-labels"``.
    template
        ``None`` for the built-in template, a path to a Jinja2 file, or a loaded template.
    role
        ``"teacher"`` or ``"student"``; only used for built-in templates.

    Raises
    ------
    SkimError
        If the file is missing, not UTF-8, or not valid Jinja2 (with the line number).
    """
    check_direction(direction)
    if isinstance(template, PromptTemplate):
        return template
    if template is None:
        if role not in ROLES:
            raise SkimError(f"template role must be one of {', '.join(ROLES)}, got {role!r}")
        name = f"{direction}.{role}.j2"
        source = resources.files("skim.prompts").joinpath("templates", name).read_text("utf-8")
        return PromptTemplate(f"builtin:{direction}.{role}", source)
    path = Path(template)
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SkimError(f"{path}: template file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SkimError(f"{path}: cannot read the template ({exc})") from None
    try:
        _compile(source)
    except jinja2.TemplateSyntaxError as exc:
        raise SkimError(f"{path}, line {exc.lineno}: Jinja2 syntax error: {exc.message}") from None
    return PromptTemplate(str(path), source)


def render_prompt(
    direction: str,
    text: str,
    metadata: str = "",
    known: Sequence[str] = (),
    n: int | None = 10,
    template: str | os.PathLike | PromptTemplate | None = None,
    role: str = "teacher",
) -> str:
    """Render the prompt for one item.

    ``metadata`` is used as given: truncate it first with :func:`truncate_metadata`.

    Examples
    --------
    >>> p = render_prompt("queries-to-labels", "exon", "a coding part of a gene", role="student")
    >>> print(p, end="")
    ## Item
    exon
    ## Description
    a coding part of a gene
    ## Labels
    """
    return load_template(direction, template, role).render(direction, text, metadata, known, n)
