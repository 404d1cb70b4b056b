"""SKIM: Scalable Knowledge Infusion for Missing Labels in extreme classification."""

from skim.errors import SkimError

__version__ = "0.1.0"
__all__ = ["SkimError", "__version__"]
