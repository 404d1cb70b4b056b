"""The ``extractive`` generator: target-like phrases cut from the metadata, no model at all.

Raw word n-grams of metadata are not label-like and map to wrong targets, so candidates are
shaped and ranked to look like the texts they will be mapped onto:

1. quoted examples are dropped and the metadata is cut into clauses at punctuation;
2. a clause is cut into noun-phrase-like chunks at function words (determiners, prepositions,
   pronouns, auxiliaries, participles no target uses); every short span of a chunk is a
   candidate, and as English noun phrases are head-final, trailing spans ("African antelope",
   "antelope") get a bonus;
3. the metadata of the item's observed partners adds candidates of its own (a label's
   definition names its own broader concepts), at a lower weight;
4. candidates are ranked by how target-like they are: an exact target name counts most, then
   the share of words found in target texts, closeness to the targets' typical length, and
   position (a definition's first phrase is usually its genus: "a segment of DNA that ...").
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np

from skim.data import Dataset
from skim.direction import observed_partners, source_texts, target_meta, target_texts
from skim.generate.base import Item

STOPWORDS = frozenset(
    """a an the this that these those some any each every all both either neither no not nor
    and or but if then than as so such of in on at by for from to into onto upon with within
    without about above below over under between among through during before after against
    along across around behind beyond near off out up down via per who whom whose which what
    where when why how it its it's they them their theirs he him his she her hers we us our you
    your i me my is are was were be been being am has have had having do does did doing can
    could may might must shall should will would used using use usually often especially
    typically sometimes also very more most less least much many few several other another
    same own just only even still yet ever never etc e.g i.e called known something someone
    one ones thing things kind sort type way whose whereas while although though because since
    until unless whether like unlike characterized consisting containing made make makes""".split()
)
_QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”")
_CLAUSE = re.compile(r"[;:()\[\]!?]|\.(?:\s|$)|,\s|\s[-–—]\s")
_WORD = re.compile(r"[0-9A-Za-zÀ-ÿ][0-9A-Za-zÀ-ÿ'\-]*")


def _names(text: str) -> list[str]:
    """The names in a target text ("dog, domestic dog" has two), lowercased."""
    return [n.strip().lower() for n in text.split(",") if n.strip()]


def _breaks(word: str, vocab) -> bool:
    """Whether ``word`` ends a chunk: a function word, a number, a single letter, or a
    participle/gerund (``formed``, ``serving``) that no target text uses."""
    low = word.lower()
    if low in STOPWORDS or word.isdigit() or len(word) < 2:
        return True
    return len(low) > 4 and low.endswith(("ed", "ing")) and (vocab is None or low not in vocab)


def candidate_phrases(metadata: str, max_words: int = 4, vocab=None) -> list[tuple[str, int, bool]]:
    """Noun-phrase-like candidates of ``metadata``: (phrase, chunk rank, ends the chunk).

    Every span of up to ``max_words`` words of a chunk is a candidate; spans that end the chunk
    are flagged, since English noun phrases are head-final. Words in ``vocab`` (the target
    texts' words) never end a chunk on account of their suffix.
    """
    text = _QUOTED.sub(" ", metadata or "")
    out: list[tuple[str, int, bool]] = []
    chunk_rank = 0
    for clause in _CLAUSE.split(text):
        run: list[str] = []
        for word in [*_WORD.findall(clause), ""]:
            if word and not _breaks(word, vocab):
                run.append(word)
                continue
            if run:
                for end in range(len(run), 0, -1):
                    for start in range(max(0, end - max_words), end):
                        out.append((" ".join(run[start:end]), chunk_rank, end == len(run)))
                chunk_rank += 1
                run = []
    return out


class ExtractiveGenerator:
    """Rank metadata phrases by resemblance to the target texts; see the module docstring."""

    name = "extractive"

    def __init__(
        self,
        dataset: Dataset,
        direction: str,
        num_return: int = 10,
        use_partners: bool = True,
        partner_weight: float = 0.7,
        max_words: int = 4,
    ) -> None:
        self.targets = target_texts(dataset, direction)
        self.sources = source_texts(dataset, direction)[0]
        self.partner_meta = target_meta(dataset, direction) if use_partners else None
        self.partners = observed_partners(dataset, direction) if use_partners else None
        self.target_names = {n for t in self.targets for n in _names(t)}
        self.vocab = Counter(w.lower() for t in self.targets for w in _WORD.findall(t))
        lengths = [len(n.split()) for n in self.target_names] or [1]
        self.typical_words = float(np.median(lengths))
        self.max_words = max_words
        self._partner_candidates: dict[int, list[tuple[str, str, float]]] = {}
        self.settings: dict[str, Any] = {
            "num_return": num_return,
            "use_partners": use_partners,
            "partner_weight": partner_weight,
            "max_words": max_words,
        }

    def score(self, phrase: str, chunk_rank: int, head: bool = True) -> float:
        """How target-like ``phrase`` is (higher is better)."""
        words = phrase.lower().split()
        exact = 2.0 if phrase.lower() in self.target_names else 0.0
        known = sum(w in self.vocab for w in words) / len(words)
        length = -0.25 * abs(len(words) - self.typical_words)
        position = 1.0 / (1.0 + 0.5 * chunk_rank)
        return exact + known + length + position + (0.5 if head else 0.0)

    def scored(self, metadata: str) -> list[tuple[str, str, float]]:
        """(lowercased key, phrase, score) of every candidate of ``metadata``, in order."""
        return [
            (phrase.lower(), phrase, self.score(phrase, rank, head))
            for phrase, rank, head in candidate_phrases(metadata, self.max_words, self.vocab)
        ]

    def rank(self, item: Item) -> list[str]:
        """Candidates of ``item``, best first, without its own names and duplicates."""
        best: dict[str, tuple[float, str]] = {}
        own = set(_names(self.sources[item.source])) | set(_names(item.text))

        def add(candidates: list[tuple[str, str, float]], weight: float) -> None:
            for key, phrase, score in candidates:
                if key in own:
                    continue
                value = weight * score
                if key not in best or value > best[key][0]:
                    best[key] = (value, phrase)

        add(self.scored(item.metadata), 1.0)
        if self.partners is not None and self.partner_meta is not None:
            row = self.partners[item.source]
            for j in row.indices:
                if j not in self._partner_candidates:  # a label is the partner of many queries
                    self._partner_candidates[j] = self.scored(self.partner_meta[j])
                add(self._partner_candidates[j], self.settings["partner_weight"])
        ordered = sorted(best.values(), key=lambda v: -v[0])
        return [phrase for _, phrase in ordered]

    def generate(self, items: list[Item]) -> list[list[str]]:
        n = self.settings["num_return"]
        return [self.rank(item)[:n] for item in items]
