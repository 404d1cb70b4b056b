import numpy as np
import scipy.sparse as sp

from skim.data import Dataset
from skim.generate.base import Item
from skim.generate.extractive import ExtractiveGenerator, candidate_phrases


def _dataset(label_texts, meta, label_meta=None, observed=None):
    n, m = len(meta), len(label_texts)
    obs = sp.csr_matrix(observed if observed is not None else np.zeros((n, m), np.float32))
    return Dataset(
        trn_texts=[f"item{i}" for i in range(n)],
        tst_texts=[],
        label_texts=label_texts,
        trn_X_Y=obs,
        tst_X_Y=sp.csr_matrix((0, m), dtype=np.float32),
        trn_meta=meta,
        label_meta=label_meta,
    )


def test_participles_end_chunks_unless_targets_use_them():
    phrases = [p for p, _, _ in candidate_phrases("a bone formed by fusion")]
    assert "bone" in phrases and not any("formed" in p for p in phrases)
    kept = [p for p, _, _ in candidate_phrases("a low building", vocab={"building"})]
    assert "low building" in kept


def test_candidates_are_head_final_chunks_without_function_words_or_quotes():
    metadata = 'a large African antelope of the plains; "we saw one"'
    phrases = [p for p, _, _ in candidate_phrases(metadata)]
    assert "antelope" in phrases and "African antelope" in phrases
    assert "large African antelope" in phrases and "plains" in phrases
    assert not any(w in p.split() for p in phrases for w in ("a", "of", "the", "saw"))


def test_definition_head_that_names_a_target_ranks_first():
    ds = _dataset(
        ["sequence, chain", "acid", "segment"],
        ["a segment of DNA that codes for a protein", "gene"],
    )
    gen = ExtractiveGenerator(ds, "queries-to-labels", num_return=3)
    texts = gen.generate([Item(0, "gene", ds.trn_meta[0])])[0]
    assert texts[0] == "segment"
    assert len(texts) == 3


def test_own_names_are_not_proposed_and_partners_metadata_adds_candidates():
    observed = np.array([[1, 0, 0]], np.float32)
    ds = _dataset(
        ["canine, canid", "carnivore", "placental"],
        ["a tame dog"],
        label_meta=["a fissiped carnivore", "a flesh-eating placental", "a mammal"],
        observed=observed,
    )
    ds.trn_texts[0] = "dog, domestic dog"
    gen = ExtractiveGenerator(ds, "queries-to-labels")
    texts = gen.generate([Item(0, "dog, domestic dog", ds.trn_meta[0])])[0]
    assert "dog" not in [t.lower() for t in texts]
    assert "carnivore" in texts  # from the observed partner's metadata
    alone = ExtractiveGenerator(ds, "queries-to-labels", use_partners=False)
    assert alone.generate([Item(0, "dog, domestic dog", ds.trn_meta[0])])[0] == ["tame dog", "tame"]


def test_labels_to_queries_prefers_phrases_that_are_train_queries():
    ds = _dataset(["pet"], ["a small wolf", "a lion", "a small feline"])
    ds.trn_texts[:] = ["dog", "cat", "kitten"]
    ds.label_meta = ["a tame animal such as a dog or a cat kept at home"]
    texts = ExtractiveGenerator(ds, "labels-to-queries", num_return=2).generate(
        [Item(0, "pet", ds.label_meta[0])]
    )[0]
    assert sorted(texts) == ["cat", "dog"]
