"""Tiny WordNet-format files and a fake encoder with hand-placed vectors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

# A dozen synsets in data.noun format. Hierarchy (@ class, @i instance hypernym):
#   entity(1) <- physical entity(2) <- organism(4) <- animal(6) <- dog(7) <- puppy(8)
#   entity(1) <- abstraction(3) <- idea(12);  physical entity(2) <- food(5) <- meat(9)
#   dog food(10) has two hypernyms: food(5) and dog(7);  Lassie(11) is an instance (@i) of dog(7)
TINY_DATA_NOUN = """\
  1 This software and database is being provided to you, the LICENSEE, by
  2 Princeton University under the following license.
00000001 03 n 01 entity 0 002 ~ 00000002 n 0000 ~ 00000003 n 0000 | that which exists
00000002 03 n 01 physical_entity 0 001 @ 00000001 n 0000 | an entity that has physical existence
00000003 03 n 02 abstraction 0 abstract_entity 0 001 @ 00000001 n 0000 | a general concept
00000004 03 n 02 organism 0 being 0 001 @ 00000002 n 0000 | a living thing
00000005 13 n 02 food 0 nutrient 0 001 @ 00000002 n 0000 | any substance that can be eaten
00000006 05 n 04 animal 0 animate_being 0 beast 0 brute 0 002 @ 00000004 n 0000 \
+ 00000099 v 0101 | a living organism that moves; "animals eat"
00000007 05 n 03 dog 0 domestic_dog 0 Canis_familiaris 0 001 @ 00000006 n 0000 | a domestic canine
00000008 05 n 01 puppy 0 001 @ 00000007 n 0000 | a young dog
00000009 13 n 01 meat 0 001 @ 00000005 n 0000 | the flesh of animals
00000010 13 n 02 dog_food 0 puppy_chow 0 002 @ 00000005 n 0000 @ 00000007 n 0000 | food for dogs
00000011 05 n 01 Lassie 0 001 @i 00000007 n 0000 | a fictional collie
00000012 09 n 02 idea 0 thought 0 001 @ 00000003 n 0000 | the content of cognition
"""

TEXTS = {
    1: "entity",
    2: "physical entity",
    3: "abstraction, abstract entity",
    4: "organism, being",
    5: "food, nutrient",
    6: "animal, animate being, beast",
    7: "dog, domestic dog, Canis familiaris",
    8: "puppy",
    9: "meat",
    10: "dog food, puppy chow",
    11: "Lassie",
    12: "idea, thought",
}


@pytest.fixture
def tiny_wordnet(tmp_path: Path) -> Path:
    """A WordNet dict folder holding only a tiny data.noun."""
    folder = tmp_path / "wordnet"
    folder.mkdir()
    (folder / "data.noun").write_text(TINY_DATA_NOUN, encoding="utf-8")
    return folder


class DictEncoder:
    """A fake encoder: each known text has a fixed vector; counts its calls."""

    def __init__(self, vectors: dict[str, list[float]], name: str = "dict-encoder") -> None:
        self.vectors = {t: np.asarray(v, np.float32) for t, v in vectors.items()}
        self.id = name
        self.name = name
        self.calls = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        return np.stack([self.vectors[t] for t in texts]).astype(np.float32)


class HashEncoder:
    """Deterministic unit vectors seeded by each text's bytes (for texts of any dataset)."""

    id = "hash-8"
    name = "hash-8"

    def encode(self, texts: list[str]) -> np.ndarray:
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
            v = np.random.default_rng(seed).standard_normal(8)
            rows.append(v / np.linalg.norm(v))
        return np.asarray(rows, np.float32).reshape(len(texts), 8)
