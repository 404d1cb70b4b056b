"""Moved to :mod:`skim.stage` (a low module, so that any stage may run a resumable sub-stage);
kept as a re-export for code written against the old path."""

from skim.stage import STAMP_DIR, path_fingerprint, run_stage

__all__ = ["STAMP_DIR", "path_fingerprint", "run_stage"]
