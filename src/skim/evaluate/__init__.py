"""Evaluation: XC metrics on observed and unbiased test labels."""

from skim.evaluate.metrics import compute_metrics
from skim.evaluate.scoring import DEFAULT_K, evaluate_predictions, format_results

__all__ = ["DEFAULT_K", "compute_metrics", "evaluate_predictions", "format_results"]
