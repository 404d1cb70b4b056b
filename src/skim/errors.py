"""Exceptions that stand for a user's error (bad input, bad settings), not a bug.

The CLI prints their message as one sentence and exits with status 2 (1 for
:class:`Unreachable`: nothing is wrong with the command, try again later); library callers
catch them like any ``ValueError``.
"""


class SkimError(ValueError):
    """A user-facing error: the message says which file or setting is wrong and why."""


class DatasetError(SkimError):
    """A dataset file is missing, malformed or inconsistent with the others."""


class OutputError(SkimError, OSError):
    """An output could not be written (read-only folder, full disk, a folder in the way).

    Also an :class:`OSError`, so callers that catch file-system errors still catch it.
    """


class Unreachable(SkimError):
    """A server (an LLM endpoint, a Ray cluster) could not be reached: rerun later to resume."""
