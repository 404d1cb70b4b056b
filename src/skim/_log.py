"""The ``skim`` logger and the switch that turns progress bars off with it.

Modules log through ``logging.getLogger(__name__)``, children of the ``skim`` logger: warnings
(a file ignored, a cache that cannot be written) and progress notes, never results (those go to
stdout, or are returned). A library caller sees the warnings through Python's last-resort
handler until it configures :mod:`logging`; the command line installs its own handler
(``skim: warning: ...`` on stderr) and sets the level from ``-v``/``-q``.
"""

from __future__ import annotations

import logging

LOGGER = logging.getLogger("skim")


def progress_enabled(requested: bool = True) -> bool:
    """Whether to draw a progress bar: if the caller asked for one and the ``skim`` logger is
    not set above INFO (``skim -q`` sets it to WARNING; a library caller can do the same)."""
    return bool(requested) and LOGGER.level <= logging.INFO
