"""Distillation: teach a small causal LM the teacher's task from its demonstrations."""

from skim.distill.demos import Demonstration, load_demonstrations, pairs_to_demonstrations
from skim.distill.format import format_completion, format_prompt, parse_completion
from skim.distill.model import load_student, read_manifest
from skim.distill.params import DistillParams
from skim.distill.train import distill

__all__ = [
    "Demonstration",
    "DistillParams",
    "distill",
    "format_completion",
    "format_prompt",
    "load_demonstrations",
    "load_student",
    "pairs_to_demonstrations",
    "parse_completion",
    "read_manifest",
]
