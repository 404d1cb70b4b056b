"""The stage graph of ``skim run`` and ``skim demo``, with skip-if-unchanged resume."""

from skim.pipeline.config import check_config, load_config
from skim.pipeline.run import run_pipeline
from skim.stage import run_stage

__all__ = ["check_config", "load_config", "run_pipeline", "run_stage"]
