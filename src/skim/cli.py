"""The ``skim`` command line: a thin layer over the library's public functions.

Each command lives beside the code it drives (``skim/<stage>/cli.py``) and registers itself
here. A user error (:class:`skim.errors.SkimError`), or a file that cannot be read or written
(an OSError), is printed as one sentence and exits with status 2, never a traceback; the same
sentence for a server that cannot be reached (an endpoint, a Ray cluster) exits with status 1,
as items that failed after the last retry do: nothing is wrong with the command, and running
it again later resumes it (:data:`EXIT_STATUSES`). Values are checked as they are parsed, with
the shared argparse types of :mod:`skim.argtypes`.

Results go to stdout; warnings and progress go to stderr through the ``skim`` logger, whose
level ``-v`` (debug detail) and ``-q`` (no progress) set, before or after the command. A closed
pipe ends the command quietly (``skim stats DATA | head -1``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from typing import NoReturn

from skim import __version__
from skim._log import LOGGER
from skim.errors import SkimError, Unreachable

COMMAND_MODULES = (
    "skim.data.cli",
    "skim.evaluate.cli",
    "skim.pipeline.cli",
    "skim.simulate.cli",
    "skim.map.cli",
    "skim.teach.cli",
    "skim.distill.cli",
    "skim.generate.cli",
    "skim.learners.cli",
    "skim.demo",
    "skim.cache.cli",
)


# ``skim --help`` lists the commands in the order data flows through them, then the
# commands that chain or study them.
COMMAND_ORDER = (
    "datasets",
    "stats",
    "simulate",
    "teach",
    "distill",
    "generate",
    "evaluate-generation",
    "map",
    "train",
    "predict",
    "evaluate",
    "run",
    "compare",
    "demo",
    "whatif",
    "cache",
)


# The status of a process that wrote to a pipe its reader had closed (128 + SIGPIPE), what a
# shell reports for ``yes | head -1``'s writer.
CLOSED_PIPE_STATUS = 141
# The command was right but could not finish now: running it again later resumes it.
RUNTIME_FAILURE_STATUS = 1
# A bad option, input file or setting: one sentence says which.
USER_ERROR_STATUS = 2
# what ``skim --help`` and the README say of them
EXIT_STATUSES = (
    "Exit status: 0 done; 1 a runtime failure: a server that cannot be reached (endpoint, Ray "
    "cluster) or items that failed after the last retry (run the same command again to resume); "
    "2 a user error (bad option, input or setting, one sentence); 130 interrupted; 141 stdout "
    "closed (skim ... | head)."
)


def has_default(action: argparse.Action) -> bool:
    """Whether an option has a default worth showing: not None, not an off flag, not an empty
    list (0 is one: ``0 == False``, so compared by identity)."""
    default = action.default
    return not (default is None or default is False or default is argparse.SUPPRESS) and not (
        isinstance(default, list) and not default
    )


class HelpFormatter(argparse.HelpFormatter):
    """Help that shows every default: an option with a default value ends with
    ``(default: VALUE)`` unless its help already says its default (one computed at run time,
    such as ``(default: cuda if available)``); an epilog keeps its lines, so that an example
    command indented under ``Example:`` stays one line."""

    def _get_help_string(self, action: argparse.Action) -> str:
        help_text = action.help or ""
        if "(default" in help_text or "%(default)" in help_text:
            return help_text
        if not has_default(action):
            return help_text
        if action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            return f"{help_text} (default: %(default)s)"
        return help_text

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(
            indent + line
            if line.startswith(" ")
            else super(HelpFormatter, self)._fill_text(line, width, indent)
            for line in text.splitlines()
        )


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block), with exit status 2, and
    whose help shows defaults and keeps the example lines of its epilog."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(USER_ERROR_STATUS, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def add_verbosity(parser: argparse.ArgumentParser) -> None:
    """``-v``/``--verbose`` and ``-q``/``--quiet``, which exclude each other; the value given
    last on the line counts (``skim -q stats DATA -v`` is verbose). Not set when absent (see
    :func:`verbosity`), so a command's parser never resets what ``skim -q`` set."""
    talk = parser.add_mutually_exclusive_group()
    talk.add_argument(
        "-v",
        "--verbose",
        dest="verbosity",
        action="store_const",
        const=1,
        default=argparse.SUPPRESS,
        help="also print debug detail on stderr (cache hits, why a stage runs, a user "
        "error's traceback)",
    )
    talk.add_argument(
        "-q",
        "--quiet",
        dest="verbosity",
        action="store_const",
        const=-1,
        default=argparse.SUPPRESS,
        help="only warnings, errors and results: no progress bars or progress messages",
    )


def verbosity(args: argparse.Namespace) -> int:
    """-1 with ``-q``, 1 with ``-v``, else 0."""
    return getattr(args, "verbosity", 0)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every registered command."""
    parser = _Parser(
        prog="skim",
        description="SKIM: recover missing labels of extreme classification data from metadata.",
        epilog="Example:\n  skim demo --quick    # the whole method on a WordNet subset, offline\n"
        f"Each command's help: skim COMMAND --help\n{EXIT_STATUSES}",
    )
    parser.add_argument("--version", action="version", version=f"skim {__version__}")
    add_verbosity(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    for name, command in commands_of(parser):
        add_verbosity(command)  # -q/-v before or after the command, the same switch
        command.set_defaults(command_name=name)  # the innermost command's name wins
    # the listing of --help, in pipeline order (a command not in COMMAND_ORDER comes last)
    rank = {name: i for i, name in enumerate(COMMAND_ORDER)}
    sub._choices_actions.sort(key=lambda action: rank.get(action.dest, len(rank)))
    return parser


def commands_of(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every command's parser under ``parser`` as ``(name, parser)``, nested ones included
    (``datasets import``), each after the command that holds it."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield " ".join((*prefix, name)), child
                yield from commands_of(child, (*prefix, name))


class _StderrHandler(logging.StreamHandler):
    """Writes to the ``sys.stderr`` of the moment (a redirected or captured stream)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(_Formatter())

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


class _Formatter(logging.Formatter):
    """``skim: note``, ``skim: warning: ...``, ``skim: debug: ...``, as the messages printed
    before the logging module carried them."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if record.levelno == logging.INFO:
            return f"skim: {text}"
        return f"skim: {record.levelname.lower()}: {text}"


@contextlib.contextmanager
def logging_to_stderr(verbosity: int) -> Iterator[None]:
    """The ``skim`` logger on stderr for one command: INFO, DEBUG with -v, WARNING with -q
    (which also turns the progress bars off); the logger is left as it was found."""
    level = {-1: logging.WARNING, 0: logging.INFO, 1: logging.DEBUG}[verbosity]
    handler, previous = _StderrHandler(), LOGGER.level
    LOGGER.addHandler(handler)
    LOGGER.setLevel(level)
    try:
        yield
    finally:
        LOGGER.removeHandler(handler)
        LOGGER.setLevel(previous)


def describe_os_error(exc: OSError) -> str:
    """One sentence for an OSError that escaped: the file, then the reason."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{exc.filename}: {reason}" if exc.filename is not None else reason


def closed_pipe() -> int:
    """The reader of stdout went away (``skim stats DATA | head -1``): stop quietly.

    stdout is pointed at the null device so that the interpreter's final flush of what is
    still buffered does not fail a second time, at exit, with "Exception ignored".
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor
        pass
    return CLOSED_PIPE_STATUS


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``skim`` command; returns the exit status."""
    try:
        return _main(argv)
    except BrokenPipeError:
        return closed_pipe()


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # a bad value (2), --help or --version (0): a status, as below
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return exc.code if isinstance(exc.code, int) else USER_ERROR_STATUS
    with logging_to_stderr(verbosity(args)):
        return _run(args)


def _report(args: argparse.Namespace, message: str) -> None:
    """``skim COMMAND: error: MESSAGE`` on stderr, COMMAND the one run (``datasets import``)."""
    print(f"skim {args.command_name}: error: {message}", file=sys.stderr)
    LOGGER.debug("where the error was raised", exc_info=True)


def _run(args: argparse.Namespace) -> int:
    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        raise
    except SkimError as exc:
        _report(args, str(exc))  # a server that could not be reached: try again later
        return RUNTIME_FAILURE_STATUS if isinstance(exc, Unreachable) else USER_ERROR_STATUS
    except OSError as exc:  # a file system error no stage turned into a sentence
        _report(args, describe_os_error(exc))
        return USER_ERROR_STATUS
    except KeyboardInterrupt:
        print(f"skim {args.command_name}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
