from __future__ import annotations

import numpy as np
import pytest

from skim.data import load_dataset
from skim.errors import SkimError
from skim.simulate import build_wordnet_dataset, read_noun_synsets, wordnet_dataset
from skim.simulate.wordnet import (
    ancestors,
    parse_data_line,
    resolve_lexfiles,
    resolve_source,
)
from skim.simulate.wordnet_extract import extract
from tests.simulate.conftest import TEXTS, HashEncoder


def _labels_by_text(ds, split: str = "all") -> dict[str, set[str]]:
    """Query text -> set of label texts, over both splits."""
    out = {}
    for texts, matrix in ((ds.trn_texts, ds.trn_X_Y_unbiased), (ds.tst_texts, ds.tst_X_Y_unbiased)):
        for i, text in enumerate(texts):
            row = matrix[i]
            out[text] = {ds.label_texts[j] for j in row.indices}
    return out


def test_parse_line_reads_lemmas_pointers_and_gloss():
    line = (
        "00000010 13 n 02 dog_food 0 puppy_chow 0 004 @ 00000005 n 0000 @i 00000007 n 0000 "
        '~ 00000042 n 0000 + 00000099 v 0101 | food for dogs; "a bag"  '
    )
    s = parse_data_line(line)
    assert s.offset == 10 and s.lexfile == 13 and s.lexname == "noun.food"
    assert s.lemmas == ("dog_food", "puppy_chow")
    assert s.hypernyms == (5,) and s.instance_hypernyms == (7,)
    assert s.gloss == 'food for dogs; "a bag"'
    assert s.text() == "dog food, puppy chow"


def test_parse_line_rejects_a_truncated_line():
    with pytest.raises(SkimError, match="data.noun, line 7: not a WordNet"):
        parse_data_line("00000010 13 n 02 dog_food 0 | cut short", "data.noun, line 7")


def test_reader_skips_header_and_keeps_instance_and_multiple_hypernyms(tiny_wordnet):
    synsets = read_noun_synsets(tiny_wordnet)
    assert sorted(synsets) == list(range(1, 13))
    assert synsets[11].instance_hypernyms == (7,) and synsets[11].hypernyms == ()
    assert synsets[10].parents == (5, 7)
    assert synsets[6].lemmas == ("animal", "animate_being", "beast", "brute")
    assert synsets[6].text() == "animal, animate being, beast"  # first three lemmas
    assert synsets[1].parents == ()  # hyponym (~) pointers are not hypernyms


def test_ancestors_follow_depth_and_all_hypernyms(tiny_wordnet):
    synsets = read_noun_synsets(tiny_wordnet)
    assert ancestors(synsets, 10, 1) == {5, 7}
    assert ancestors(synsets, 10, 2) == {5, 7, 2, 6}
    assert ancestors(synsets, 10, 3) == {5, 7, 2, 6, 1, 4}
    assert ancestors(synsets, 11, 2) == {7, 6}
    assert ancestors(synsets, 1, 2) == set()
    assert ancestors(synsets, 8, None) == {7, 6, 4, 2, 1}  # every ancestor up to the root
    assert ancestors(synsets, 10, None) == {5, 7, 2, 6, 1, 4}


def test_depth_all_keeps_every_ancestor_and_is_recorded(tiny_wordnet):
    synsets = read_noun_synsets(tiny_wordnet)
    full = wordnet_dataset(synsets, depth="all", seed=0)
    deep = wordnet_dataset(synsets, depth=10, seed=0)  # deeper than the tiny taxonomy
    assert full.info["wordnet"]["depth"] == "all" and deep.info["wordnet"]["depth"] == 10
    assert (full.trn_X_Y_unbiased != deep.trn_X_Y_unbiased).nnz == 0
    two = wordnet_dataset(synsets, depth=2, seed=0)
    assert full.info["wordnet"]["true_pairs"] > two.info["wordnet"]["true_pairs"]


@pytest.mark.parametrize(
    ("depth", "message"),
    [(0, "--depth must be at least 1"), ("deep", "positive integer or 'all'"), (2.5, "'all'")],
)
def test_bad_depth_is_one_sentence(tiny_wordnet, depth, message):
    with pytest.raises(SkimError, match=message):
        wordnet_dataset(read_noun_synsets(tiny_wordnet), depth=depth)


def test_dataset_has_every_true_pair_split_and_filters(tiny_wordnet):
    ds = wordnet_dataset(read_noun_synsets(tiny_wordnet), depth=2, seed=0)
    # 11 synsets have a hypernym; 20% (floor) go to test.
    assert (ds.n_trn, ds.n_tst) == (9, 2)
    assert sorted(ds.trn_texts + ds.tst_texts) == sorted(TEXTS[o] for o in range(2, 13))
    assert ds.label_texts == [TEXTS[o] for o in range(1, 8)]  # every ancestor, by offset
    got = _labels_by_text(ds)
    assert got[TEXTS[10]] == {TEXTS[5], TEXTS[7], TEXTS[2], TEXTS[6]}
    assert got[TEXTS[11]] == {TEXTS[7], TEXTS[6]}
    assert got[TEXTS[2]] == {TEXTS[1]}
    assert ds.trn_X_Y_unbiased.nnz + ds.tst_X_Y_unbiased.nnz == 22
    assert (ds.trn_X_Y != ds.trn_X_Y_unbiased).nnz == 0
    assert ds.info["wordnet"]["true_pairs"] == 22
    # metadata is the gloss, aligned with the texts
    i = ds.trn_texts.index(TEXTS[8]) if TEXTS[8] in ds.trn_texts else None
    if i is not None:
        assert ds.trn_meta[i] == "a young dog"
    assert ds.label_meta[6] == "a domestic canine"
    # a query that is also a label (offsets 2-7) gets a filter pair on its own label
    filters = {
        (texts[r], ds.label_texts[c])
        for texts, pairs in ((ds.trn_texts, ds.trn_filter), (ds.tst_texts, ds.tst_filter))
        for r, c in pairs
    }
    assert filters == {(TEXTS[o], TEXTS[o]) for o in range(2, 8)}


def test_split_is_fixed_by_seed(tiny_wordnet):
    synsets = read_noun_synsets(tiny_wordnet)
    a = wordnet_dataset(synsets, seed=0)
    b = wordnet_dataset(synsets, seed=0)
    assert a.tst_texts == b.tst_texts
    others = {tuple(wordnet_dataset(synsets, seed=s).tst_texts) for s in range(1, 6)}
    assert len(others | {tuple(a.tst_texts)}) > 1
    assert not set(a.trn_texts) & set(a.tst_texts)


def test_depth_one_and_lexfiles_subset(tiny_wordnet):
    synsets = read_noun_synsets(tiny_wordnet)
    ds = wordnet_dataset(synsets, depth=1)
    assert ds.trn_X_Y.nnz + ds.tst_X_Y.nnz == 12
    animals = wordnet_dataset(synsets, lexfiles=resolve_lexfiles("noun.animal"))
    assert sorted(animals.trn_texts + animals.tst_texts) == sorted(TEXTS[o] for o in (6, 7, 8, 11))
    # labels may lie outside the chosen files (organism, physical entity are noun.Tops)
    assert animals.label_texts == [TEXTS[o] for o in (2, 4, 6, 7)]


def test_resolve_lexfiles_names():
    assert resolve_lexfiles("noun.food, animal") == {13, 5}
    assert resolve_lexfiles(None) is None
    with pytest.raises(SkimError, match="unknown WordNet noun lexicographer file 'noun.fod'"):
        resolve_lexfiles("noun.fod")


def test_missing_source_and_dangling_hypernym(tmp_path, tiny_wordnet):
    with pytest.raises(SkimError, match="no data.noun file found"):
        read_noun_synsets(tmp_path / "nowhere")
    bad = tmp_path / "data.noun"
    bad.write_text("00000002 03 n 01 thing 0 001 @ 00000001 n 0000 | x\n", encoding="utf-8")
    with pytest.raises(SkimError, match="hypernym 00000001, which is not in the file"):
        read_noun_synsets(bad)


def test_extract_round_trips(tiny_wordnet, tmp_path):
    out = extract(tiny_wordnet, tmp_path / "pkg")
    assert read_noun_synsets(out) == read_noun_synsets(tiny_wordnet)
    assert (tmp_path / "pkg" / "WORDNET_LICENSE.txt").read_text().startswith("This software")


def test_packaged_copy_gives_the_full_noun_dataset():
    ds = wordnet_dataset(read_noun_synsets(), depth=2, seed=0)
    info = ds.info["wordnet"]
    assert (info["synsets"], info["queries"], info["labels"]) == (82115, 82114, 17157)
    assert info["true_pairs"] == 171902  # 2.09 labels per query
    assert (ds.n_trn, ds.n_tst) == (65692, 16422)
    assert resolve_source(None).stat().st_size < 4_000_000  # shipped extract stays small


def test_build_writes_a_loadable_dataset_with_bias(tiny_wordnet, tmp_path):
    out = tmp_path / "wn"
    ds = build_wordnet_dataset(
        out, exposure_topk=2, source=tiny_wordnet, encoder=HashEncoder(), cache_dir=tmp_path / "c"
    )
    assert ds.path == out and (out / "WORDNET_LICENSE.txt").exists()
    loaded = load_dataset(out)
    sim = loaded.info["simulation"]
    assert sim["exposure_topk"] == 2 and sim["encoder"] == "hash-8"
    assert loaded.info["source"]["path"].endswith("data.noun")
    # observed pairs are a subset of the true ones, with at most 2 per query
    assert (loaded.trn_X_Y > loaded.trn_X_Y_unbiased).nnz == 0
    assert np.diff(loaded.trn_X_Y.indptr).max() <= 2
    assert sim["counts"]["train"]["observed_pairs"] == loaded.trn_X_Y.nnz
    # rebuilding over the same directory replaces it
    again = build_wordnet_dataset(out, exposure_topk=None, source=tiny_wordnet)
    assert again.trn_X_Y.nnz == again.trn_X_Y_unbiased.nnz and "simulation" not in again.info
