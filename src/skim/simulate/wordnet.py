"""WordNet 3.0 nouns as an XC dataset: synset -> its hypernym ancestors (a complete taxonomy).

Queries are noun synsets that have a hypernym (class ``@`` or instance ``@i``); their labels are
the ancestors at distance <= ``depth``, like the paper's Wikipedia titles -> categories and
parent categories. Because the taxonomy is human-made, the labels are complete ("unbiased");
:func:`skim.simulate.bias.simulate_bias` then makes the observed, click-like labels.

The parser reads WordNet's ``data.noun`` format (the original file, or the compressed extract
shipped in this package, which keeps only what the builder needs).
"""

from __future__ import annotations

import gzip
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from skim._io import file_fingerprint
from skim.data import Dataset, canonical, load_dataset
from skim.data.output import save_dataset_dir
from skim.errors import DatasetError, SkimError

PACKAGED_SOURCE = "wordnet-3.0-data.noun.gz"
LICENSE_FILE = "WORDNET_LICENSE.txt"
HYPERNYM, INSTANCE_HYPERNYM = "@", "@i"
TEST_FRACTION = 0.2
QUERY_LEMMAS = 3
ALL_ANCESTORS = "all"  # depth that keeps every ancestor, up to the root

# WordNet's lexicographer files (lexnames); numbers 3-28 hold the nouns.
NOUN_LEXFILES = {
    3: "noun.Tops",
    4: "noun.act",
    5: "noun.animal",
    6: "noun.artifact",
    7: "noun.attribute",
    8: "noun.body",
    9: "noun.cognition",
    10: "noun.communication",
    11: "noun.event",
    12: "noun.feeling",
    13: "noun.food",
    14: "noun.group",
    15: "noun.location",
    16: "noun.motive",
    17: "noun.object",
    18: "noun.person",
    19: "noun.phenomenon",
    20: "noun.plant",
    21: "noun.possession",
    22: "noun.process",
    23: "noun.quantity",
    24: "noun.relation",
    25: "noun.shape",
    26: "noun.state",
    27: "noun.substance",
    28: "noun.time",
}


@dataclass(frozen=True)
class Synset:
    """One noun synset: what the dataset builder needs of a ``data.noun`` line."""

    offset: int
    lexfile: int
    lemmas: tuple[str, ...]
    hypernyms: tuple[int, ...]
    instance_hypernyms: tuple[int, ...]
    gloss: str

    @property
    def parents(self) -> tuple[int, ...]:
        """Class and instance hypernyms, in that order."""
        return self.hypernyms + self.instance_hypernyms

    @property
    def lexname(self) -> str:
        return NOUN_LEXFILES.get(self.lexfile, f"lexfile.{self.lexfile}")

    def text(self, n_lemmas: int = QUERY_LEMMAS) -> str:
        """The first ``n_lemmas`` lemmas joined by ", ", underscores read as spaces."""
        return ", ".join(lemma.replace("_", " ") for lemma in self.lemmas[:n_lemmas])


def parse_data_line(line: str, where: str = "data.noun") -> Synset:
    """Parse one synset line of WordNet's ``data.noun`` format.

    ``offset lexfile ss_type w_cnt (word lex_id)* p_cnt (symbol offset pos src_tgt)* | gloss``;
    ``w_cnt`` is hexadecimal, ``p_cnt`` decimal. Only noun hypernym pointers are kept.

    Raises
    ------
    DatasetError
        Naming ``where`` (file and line) if the line does not follow the format.
    """
    body, _, gloss = line.partition("|")
    fields = body.split()
    try:
        offset, lexfile = int(fields[0]), int(fields[1])
        n_words = int(fields[3], 16)
        pos = 4 + 2 * n_words
        lemmas = tuple(fields[4:pos:2])
        n_ptrs = int(fields[pos])
        pointers = fields[pos + 1 : pos + 1 + 4 * n_ptrs]
        if len(lemmas) != n_words or len(pointers) != 4 * n_ptrs or n_words == 0:
            raise IndexError
        hypernyms: list[int] = []
        instances: list[int] = []
        for i in range(0, len(pointers), 4):
            symbol, target, target_pos = pointers[i], pointers[i + 1], pointers[i + 2]
            if target_pos != "n":
                continue
            if symbol == HYPERNYM:
                hypernyms.append(int(target))
            elif symbol == INSTANCE_HYPERNYM:
                instances.append(int(target))
    except (IndexError, ValueError):
        raise DatasetError(f"{where}: not a WordNet data.noun synset line: {line[:80]!r}") from None
    return Synset(offset, lexfile, lemmas, tuple(hypernyms), tuple(instances), gloss.strip())


def resolve_source(source: str | os.PathLike | None = None) -> Path:
    """Path of the ``data.noun`` to read: in a WordNet folder, a file, or the packaged extract."""
    if source is None:
        return Path(__file__).with_name(PACKAGED_SOURCE)
    path = Path(source)
    if path.is_dir():
        candidates = [path / "data.noun", path / "data.noun.gz", path / "dict" / "data.noun"]
        path = next((c for c in candidates if c.is_file()), candidates[0])
    if not path.is_file():
        raise SkimError(f"WordNet source {source}: no data.noun file found there")
    return path


def _read_lines(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            return handle.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SkimError(f"WordNet source {path}: cannot be read ({exc})") from None


def iter_synset_lines(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """(line number, line) of each synset line, skipping the license header (indented lines)."""
    for lineno, line in enumerate(lines, start=1):
        if line.strip() and not line.startswith(" "):
            yield lineno, line


def read_noun_synsets(source: str | os.PathLike | None = None) -> dict[int, Synset]:
    """All noun synsets of a WordNet ``data.noun``, by offset.

    Parameters
    ----------
    source
        A WordNet ``dict`` folder or a ``data.noun`` (optionally ``.gz``) file; None reads the
        extract shipped with skim (WordNet 3.0, see ``WORDNET_LICENSE.txt``).

    Raises
    ------
    SkimError
        If the source is missing, malformed or a hypernym points at no synset of the file.
    """
    path = resolve_source(source)
    name = str(path)
    synsets: dict[int, Synset] = {}
    for lineno, line in iter_synset_lines(_read_lines(path)):
        synset = parse_data_line(line, f"{name}, line {lineno}")
        synsets[synset.offset] = synset
    if not synsets:
        raise DatasetError(f"{name}: holds no synset lines")
    for synset in synsets.values():
        missing = [p for p in synset.parents if p not in synsets]
        if missing:
            raise DatasetError(
                f"{name}: synset {synset.offset:08d} has hypernym {missing[0]:08d}, "
                "which is not in the file"
            )
    return synsets


def resolve_lexfiles(names: str | Iterable[str] | None) -> set[int] | None:
    """Lexicographer file numbers for names such as ``noun.food`` or ``food``; None = all."""
    if names is None:
        return None
    if isinstance(names, str):
        names = names.split(",")
    by_name = {name.lower(): num for num, name in NOUN_LEXFILES.items()}
    chosen: set[int] = set()
    for raw in names:
        name = raw.strip().lower()
        if not name:
            continue
        num = by_name.get(name, by_name.get(f"noun.{name}"))
        if num is None:
            valid = ", ".join(NOUN_LEXFILES.values())
            raise SkimError(
                f"--lexfiles: unknown WordNet noun lexicographer file {raw.strip()!r}; "
                f"choose from {valid}"
            )
        chosen.add(num)
    if not chosen:
        raise SkimError("--lexfiles: give at least one name, e.g. noun.food,noun.animal")
    return chosen


def parse_depth(value: int | str) -> int | None:
    """The ancestor depth of a setting: a positive integer, or ``"all"`` (returned as None).

    Raises
    ------
    SkimError
        Naming ``--depth`` for anything else (0, negative numbers, other words).
    """
    if isinstance(value, str) and value.strip().lower() == ALL_ANCESTORS:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise SkimError(f"--depth must be a positive integer or {ALL_ANCESTORS!r}, got {value!r}")
    try:
        depth = int(value)
    except ValueError:
        raise SkimError(
            f"--depth must be a positive integer or {ALL_ANCESTORS!r}, got {value!r}"
        ) from None
    if depth < 1:
        raise SkimError(f"--depth must be at least 1 (or {ALL_ANCESTORS!r}), got {depth}")
    return depth


def ancestors(synsets: dict[int, Synset], offset: int, depth: int | None) -> set[int]:
    """Hypernym ancestors (class and instance) of ``offset`` at distance 1..``depth``.

    ``depth`` None keeps every ancestor up to the root (the paper's "all ancestors" regime).
    With several hypernyms an ancestor counts at its shortest distance; the synset itself is
    never its own ancestor.
    """
    found: set[int] = set()
    frontier = {offset}
    distance = 0
    while frontier and (depth is None or distance < depth):
        frontier = {p for s in frontier for p in synsets[s].parents} - found - {offset}
        found |= frontier
        distance += 1
    return found


def wordnet_dataset(
    synsets: dict[int, Synset],
    depth: int | str = 2,
    lexfiles: set[int] | None = None,
    seed: int = 0,
    test_fraction: float = TEST_FRACTION,
) -> Dataset:
    """The complete-label dataset of a taxonomy: queries, ancestor labels, split and filters.

    Queries are the synsets with a hypernym (restricted to ``lexfiles`` when given; their
    labels may lie in any lexicographer file). Both the observed and the unbiased matrices hold
    every true pair; :func:`skim.simulate.simulate_bias` makes the observed ones biased.
    Query and label texts are both :meth:`Synset.text` (first three lemmas), metadata the
    gloss; queries and labels are ordered by WordNet offset. A query that is also a label gets
    a filter pair, the XC convention for a point's own label. ``depth`` is a positive integer
    or ``"all"`` (every ancestor up to the root).
    """
    max_depth = parse_depth(depth)
    if not 0.0 < test_fraction < 1.0:
        raise SkimError(f"test fraction must be in (0, 1), got {test_fraction}")
    queries = [
        o
        for o in sorted(synsets)
        if synsets[o].parents and (lexfiles is None or synsets[o].lexfile in lexfiles)
    ]
    if not queries:
        raise SkimError("--lexfiles: no synset with a hypernym lies in the chosen files")
    query_labels = [ancestors(synsets, o, max_depth) for o in queries]
    labels = sorted(set().union(*query_labels))
    column = {o: j for j, o in enumerate(labels)}

    n_tst = int(len(queries) * test_fraction)
    order = np.random.default_rng(seed).permutation(len(queries))
    splits = {"tst": np.sort(order[:n_tst]), "trn": np.sort(order[n_tst:])}
    parts: dict[str, Any] = {}
    for name, rows in splits.items():
        cols = [[column[a] for a in query_labels[i]] for i in rows]
        indptr = np.concatenate([[0], np.cumsum([len(c) for c in cols])]).astype(np.int64)
        indices = np.asarray([c for row in cols for c in row], dtype=np.int64)
        matrix = canonical(
            sp.csr_matrix(
                (np.ones(len(indices), np.float32), indices, indptr),
                shape=(len(rows), len(labels)),
            )
        )
        offsets = [queries[i] for i in rows]
        parts[f"{name}_texts"] = [synsets[o].text() for o in offsets]
        parts[f"{name}_meta"] = [synsets[o].gloss for o in offsets]
        parts[f"{name}_X_Y"] = matrix
        parts[f"{name}_X_Y_unbiased"] = matrix.copy()
        parts[f"{name}_filter"] = np.asarray(
            [(r, column[o]) for r, o in enumerate(offsets) if o in column], dtype=np.int64
        ).reshape(-1, 2)
    return Dataset(
        label_texts=[synsets[o].text() for o in labels],
        label_meta=[synsets[o].gloss for o in labels],
        info={
            "name": "wordnet-nouns",
            "wordnet": {
                "depth": ALL_ANCESTORS if max_depth is None else max_depth,
                "lexfiles": None
                if lexfiles is None
                else [NOUN_LEXFILES[n] for n in sorted(lexfiles)],
                "seed": seed,
                "test_fraction": test_fraction,
                "synsets": len(synsets),
                "queries": len(queries),
                "labels": len(labels),
                "true_pairs": int(sum(len(a) for a in query_labels)),
            },
        },
        **parts,
    )


def build_wordnet_dataset(
    out_dir: str | os.PathLike,
    depth: int | str = 2,
    exposure_topk: int | None = 200,
    source: str | os.PathLike | None = None,
    lexfiles: str | Iterable[str] | None = None,
    encoder: Any = None,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
    ray: Any = None,
) -> Dataset:
    """Build the WordNet nouns dataset with simulated exposure bias and write it to ``out_dir``.

    Parameters
    ----------
    out_dir
        Output dataset directory (DATASET.md); replaced as a whole on success.
    depth
        Labels are the hypernym ancestors at distance <= ``depth`` (2: parent and grandparent);
        ``"all"`` keeps every ancestor up to the root.
    exposure_topk
        Keep a true pair as observed only if its label is among the encoder's top-K for the
        query (Algorithm 1 of the paper); None or 0 keeps every pair (no simulation).
    source
        A WordNet folder or ``data.noun`` file; None uses the copy shipped with skim.
    lexfiles
        Restrict the queries to these lexicographer files (``"noun.food,noun.animal"``).
    encoder
        The pretrained encoder that simulates the exposure: a :class:`skim.encode.TextEncoder`,
        a model name or path, or None for the bundled all-MiniLM-L6-v2.
    seed
        Seed of the 80/20 train/test split (and of the simulation).
    cache_dir
        Embedding cache (default ``$SKIM_CACHE_DIR`` or ``~/.cache/skim``).
    ray
        Encode on this Ray cluster's actor pool (:class:`skim.scale.cluster.RayOptions`);
        None: in this process. The same dataset either way.

    Returns
    -------
    Dataset
        The dataset as loaded back from ``out_dir``.
    """
    from skim.simulate.bias import simulate_bias

    start = time.perf_counter()
    lexfile_set = resolve_lexfiles(lexfiles)
    synsets = read_noun_synsets(source)
    dataset = wordnet_dataset(synsets, depth=depth, lexfiles=lexfile_set, seed=seed)
    path = resolve_source(source)
    dataset.info["source"] = {
        "path": str(path) if source is not None else f"<skim>/{PACKAGED_SOURCE}",
        "sha256": file_fingerprint(path),
        "license": f"WordNet 3.0 license, Princeton University (see {LICENSE_FILE})",
    }
    if exposure_topk:
        dataset = simulate_bias(
            dataset, exposure_topk=exposure_topk, encoder=encoder, seed=seed, cache_dir=cache_dir,
            ray=ray,
        )  # fmt: skip
    dataset.info["build_seconds"] = round(time.perf_counter() - start, 2)  # before writing
    license_text = Path(__file__).with_name(LICENSE_FILE).read_text(encoding="utf-8")
    save_dataset_dir(dataset, out_dir, extra_files={LICENSE_FILE: license_text})
    return load_dataset(out_dir)
