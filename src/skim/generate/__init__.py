"""Generation: synthetic texts for every item, by extractive, transformers, vLLM or OpenAI."""

from skim.generate.base import Generator, Item
from skim.generate.coverage import evaluate_generation, read_synthetic
from skim.generate.params import GenerateParams
from skim.generate.registry import GENERATORS, RUNS, register_generator
from skim.generate.run import generate, make_generator

__all__ = [
    "GENERATORS",
    "GenerateParams",
    "Generator",
    "Item",
    "RUNS",
    "evaluate_generation",
    "generate",
    "make_generator",
    "register_generator",
    "read_synthetic",
]
