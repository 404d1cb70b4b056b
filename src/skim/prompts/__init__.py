"""Prompts of SKIM's two task families, metadata truncation and response parsing.

- labels-to-queries: a label (document) with its metadata and a few known queries -> new
  search queries the metadata answers (web search, ads);
- queries-to-labels: a query (title) with its metadata -> the labels (categories) it belongs
  to, specific first, then broader (Wikipedia categories).
"""

from skim.direction import DIRECTIONS, check_direction  # the prompts' {{ direction }}
from skim.prompts.parse import dedupe, format_completion, parse_response
from skim.prompts.templates import ROLES, PromptTemplate, load_template, render_prompt
from skim.prompts.truncate import (
    WORDS_PER_TOKEN,
    count_tokens,
    load_tokenizer,
    truncate_metadata,
)

__all__ = [
    "DIRECTIONS",
    "ROLES",
    "WORDS_PER_TOKEN",
    "PromptTemplate",
    "check_direction",
    "count_tokens",
    "dedupe",
    "format_completion",
    "load_template",
    "load_tokenizer",
    "parse_response",
    "render_prompt",
    "truncate_metadata",
]
