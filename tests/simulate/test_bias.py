from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from skim.data import Dataset
from skim.errors import SkimError
from skim.simulate import simulate_bias
from skim.simulate.bias import mar_keep, sigmoid_clicks
from tests.simulate.conftest import DictEncoder, HashEncoder

# Label vectors are the axes; query vectors fix each query's ranking of the labels:
#   q1 (train): a > b > c, true {a, c}
#   q2 (train): c > b > a, true {a, b, c}, and its score with a is negative
#   t1 (test):  b > a > c, true {a, c}
VECTORS = {
    "a": [1, 0, 0],
    "b": [0, 1, 0],
    "c": [0, 0, 1],
    "q1": [0.9, 0.4, 0.1],
    "q2": [-0.1, 0.2, 0.97],
    "t1": [0.3, 0.9, 0.1],
}


@pytest.fixture
def hand_dataset() -> Dataset:
    trn = sp.csr_matrix(np.array([[1, 0, 1], [1, 1, 1]], np.float32))
    tst = sp.csr_matrix(np.array([[1, 0, 1]], np.float32))
    return Dataset(
        trn_texts=["q1", "q2"],
        tst_texts=["t1"],
        label_texts=["a", "b", "c"],
        trn_X_Y=trn.copy(),
        tst_X_Y=tst.copy(),
        trn_X_Y_unbiased=trn,
        tst_X_Y_unbiased=tst,
        info={"name": "hand"},
    )


def _pairs(m: sp.csr_matrix) -> set[tuple[int, int]]:
    coo = m.tocoo()
    return set(zip(coo.row.tolist(), coo.col.tolist(), strict=True))


@pytest.mark.parametrize(
    ("k", "train", "test"),
    [
        (1, {(0, 0), (1, 2)}, set()),
        (2, {(0, 0), (1, 1), (1, 2)}, {(0, 0)}),
        (3, {(0, 0), (0, 2), (1, 0), (1, 1), (1, 2)}, {(0, 0), (0, 2)}),
    ],
)
def test_exposure_keeps_true_pairs_in_the_top_k(hand_dataset, tmp_path, k, train, test):
    out = simulate_bias(
        hand_dataset, exposure_topk=k, encoder=DictEncoder(VECTORS), cache_dir=tmp_path
    )
    assert _pairs(out.trn_X_Y) == train and _pairs(out.tst_X_Y) == test
    counts = out.info["simulation"]["counts"]
    assert counts["train"]["true_pairs"] == 5 and counts["train"]["exposed_pairs"] == len(train)
    assert counts["test"]["observed_pairs"] == len(test)
    assert out.trn_X_Y_unbiased.nnz == 5 and out.tst_X_Y_unbiased.nnz == 2  # never changed
    assert out.info["name"] == "hand" and out.info["simulation"]["encoder"] == "dict-encoder"


def test_click_model_follows_the_sign_of_the_score_at_low_temperature(hand_dataset, tmp_path):
    out = simulate_bias(
        hand_dataset,
        exposure_topk=3,
        encoder=DictEncoder(VECTORS),
        click_model="sigmoid",
        temperature=1e-6,
        cache_dir=tmp_path,
    )
    # sigma(s / T) is 1 for every positive score and 0 for q2-a (score -0.1)
    assert _pairs(out.trn_X_Y) == {(0, 0), (0, 2), (1, 1), (1, 2)}
    assert _pairs(out.tst_X_Y) == {(0, 0), (0, 2)}
    sim = out.info["simulation"]
    assert sim["method"] == "exposure+sigmoid" and sim["temperature"] == 1e-6
    assert sim["counts"]["train"] == {
        "true_pairs": 5,
        "exposed_pairs": 5,
        "observed_pairs": 4,
        "observed_share": 0.8,
        "rows_without_labels": 0,
    }


def test_sigmoid_clicks_hand_checked():
    scores = np.array([0.0, 2.0, -2.0])
    draws = np.array([0.49, 0.5, 0.2])
    # sigma(0) = 0.5, sigma(2) = 0.881, sigma(-2) = 0.119
    assert sigmoid_clicks(scores, 1.0, draws).tolist() == [True, True, False]
    assert sigmoid_clicks(scores, 0.5, np.array([0.51, 0.98, 0.01])).tolist() == [
        False,
        True,
        True,
    ]


def _random_dataset(n: int = 400, labels: int = 30, seed: int = 1) -> Dataset:
    rng = np.random.default_rng(seed)
    trn = sp.random(n, labels, density=0.1, random_state=rng, format="csr", dtype=np.float32)
    tst = sp.random(n // 4, labels, density=0.1, random_state=rng, format="csr", dtype=np.float32)
    trn.data[:] = 1
    tst.data[:] = 1
    return Dataset(
        trn_texts=[f"train query {i}" for i in range(n)],
        tst_texts=[f"test query {i}" for i in range(n // 4)],
        label_texts=[f"label {j}" for j in range(labels)],
        trn_X_Y=trn,
        tst_X_Y=tst,
        trn_X_Y_unbiased=trn,
        tst_X_Y_unbiased=tst,
    )


def test_click_model_keeps_about_half_at_high_temperature(tmp_path):
    ds = _random_dataset()
    kw = dict(exposure_topk=None, encoder=HashEncoder(), click_model="sigmoid", cache_dir=tmp_path)
    out = simulate_bias(ds, temperature=1e6, **kw)
    n = ds.trn_X_Y_unbiased.nnz
    assert abs(out.trn_X_Y.nnz - n / 2) < 4 * np.sqrt(n / 4)  # binomial(n, 1/2), 4 sigma
    again = simulate_bias(ds, temperature=1e6, **kw)
    assert _pairs(again.trn_X_Y) == _pairs(out.trn_X_Y)  # same seed, same clicks
    other = simulate_bias(ds, temperature=1e6, seed=1, **kw)
    assert _pairs(other.trn_X_Y) != _pairs(out.trn_X_Y)


def test_larger_k_observes_a_superset(tmp_path):
    ds = _random_dataset()
    kw = dict(encoder=HashEncoder(), click_model="sigmoid", temperature=0.3, cache_dir=tmp_path)
    small = simulate_bias(ds, exposure_topk=5, **kw)
    large = simulate_bias(ds, exposure_topk=15, **kw)
    assert _pairs(small.trn_X_Y) < _pairs(large.trn_X_Y)


def test_mar_keeps_an_exact_uniform_fraction_without_an_encoder(hand_dataset):
    class NoEncoder:
        id = "none"

        def encode(self, texts):
            raise AssertionError("MAR must not encode")

    out = simulate_bias(hand_dataset, mar_fraction=0.4, encoder=NoEncoder())
    assert out.trn_X_Y.nnz == 2 and out.tst_X_Y.nnz == 1  # round(0.4*5), round(0.4*2)
    assert _pairs(out.trn_X_Y) <= _pairs(out.trn_X_Y_unbiased)
    assert out.info["simulation"]["method"] == "mar"
    ds = _random_dataset()
    low, high = (simulate_bias(ds, mar_fraction=f) for f in (0.2, 0.6))
    assert low.trn_X_Y.nnz == round(0.2 * ds.trn_X_Y_unbiased.nnz)
    assert _pairs(low.trn_X_Y) < _pairs(high.trn_X_Y)  # nested for one seed


def test_mar_keep_hand_checked():
    draws = np.array([0.9, 0.1, 0.5, 0.3])
    assert mar_keep(draws, 0.5).tolist() == [False, True, False, True]
    assert mar_keep(draws, 0.0).sum() == 0 and mar_keep(draws, 1.0).all()


def test_rerun_reads_embeddings_from_the_cache(hand_dataset, tmp_path):
    enc = DictEncoder(VECTORS)
    simulate_bias(hand_dataset, exposure_topk=1, encoder=enc, cache_dir=tmp_path)
    simulate_bias(hand_dataset, exposure_topk=2, encoder=enc, cache_dir=tmp_path)
    assert enc.calls == 1


def test_bad_settings_and_missing_complete_labels(hand_dataset):
    enc = DictEncoder(VECTORS)
    with pytest.raises(SkimError, match="needs the complete labels"):
        simulate_bias(hand_dataset.replace(trn_X_Y_unbiased=None), encoder=enc)
    with pytest.raises(SkimError, match="--mar-fraction must be in"):
        simulate_bias(hand_dataset, mar_fraction=1.5)
    with pytest.raises(SkimError, match="give one"):
        simulate_bias(hand_dataset, mar_fraction=0.5, click_model="sigmoid")
    with pytest.raises(SkimError, match="--click-model must be one of sigmoid"):
        simulate_bias(hand_dataset, click_model="cascade", encoder=enc)
    with pytest.raises(SkimError, match="--temperature must be positive"):
        simulate_bias(hand_dataset, click_model="sigmoid", temperature=0, encoder=enc)
    with pytest.raises(SkimError, match="nothing to simulate"):
        simulate_bias(hand_dataset, exposure_topk=None, encoder=enc)


@pytest.mark.parametrize("chunk", [3, 8192])
def test_exposure_matches_brute_force_across_query_chunks(monkeypatch, chunk):
    import skim.simulate.bias as bias

    monkeypatch.setattr(bias, "_QUERY_CHUNK", chunk)
    rng = np.random.default_rng(0)
    queries, labels = rng.standard_normal((40, 6)), rng.standard_normal((25, 6))
    truth = sp.random(40, 25, density=0.3, random_state=rng, format="csr", dtype=np.float32)
    got = bias.exposed_pairs(queries, labels, truth, k=7, show_progress=False)
    rank = np.argsort(np.argsort(-(queries @ labels.T), axis=1), axis=1)
    coo = truth.tocoo()
    assert got.tolist() == (rank[coo.row, coo.col] < 7).tolist()


def test_a_params_object_and_keywords_give_the_same_simulation(hand_dataset, tmp_path):
    from skim.simulate import SimulateParams

    params = SimulateParams(exposure_topk=2, encoder=DictEncoder(VECTORS), cache_dir=tmp_path)
    by_params = simulate_bias(hand_dataset, params)
    by_keywords = simulate_bias(
        hand_dataset, exposure_topk=2, encoder=DictEncoder(VECTORS), cache_dir=tmp_path
    )
    assert _pairs(by_params.trn_X_Y) == _pairs(by_keywords.trn_X_Y) == {(0, 0), (1, 1), (1, 2)}
    overridden = simulate_bias(hand_dataset, params, exposure_topk=1)  # on a copy
    assert _pairs(overridden.trn_X_Y) == {(0, 0), (1, 2)} and params.exposure_topk == 2
    assert "cache_dir" not in params.to_dict() and params.to_dict()["exposure_topk"] == 2
    with pytest.raises(TypeError, match="unexpected keyword argument 'topk'"):
        simulate_bias(hand_dataset, params, topk=3)
