"""Nearest-neighbour search by inner product (cosine on normalised vectors)."""

from skim.index.exact import ExactIndex, exact_topk

__all__ = ["ExactIndex", "exact_topk"]
