"""Hand-checked metric values (worked out on paper in the comments)."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from skim.errors import SkimError
from skim.evaluate import compute_metrics
from skim.evaluate import metrics as metrics_module

# truth: row 0 -> {0, 2}, row 1 -> {1}, row 2 -> {} (no labels, stays in every mean)
TRUTH = sp.csr_matrix(np.array([[1, 0, 1, 0, 0], [0, 1, 0, 0, 0], [0, 0, 0, 0, 0]], np.float32))
# ranking: row 0 -> 0, 1, 2, 3; row 1 -> 4, 1; row 2 -> 0
PRED = sp.csr_matrix(
    np.array([[0.9, 0.8, 0.7, 0.1, 0], [0, 0.5, 0, 0, 0.6], [0.3, 0, 0, 0, 0]], np.float32)
)
W = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
L2 = math.log2


def test_precision_recall_ndcg_coverage_by_hand():
    m = compute_metrics(PRED, TRUTH, k=(1, 3))
    assert m["P@1"] == pytest.approx(1 / 3)  # hits 1, 0, 0
    assert m["P@3"] == pytest.approx((2 + 1 + 0) / 3 / 3)
    assert m["R@1"] == pytest.approx((1 / 2) / 3)
    assert m["R@3"] == pytest.approx((1 + 1 + 0) / 3)
    assert m["nDCG@1"] == pytest.approx(1 / 3)
    row0 = (1 + 1 / L2(4)) / (1 + 1 / L2(3))  # hits at ranks 1 and 3, IDCG over min(3, 2)
    row1 = (1 / L2(3)) / 1.0  # hit at rank 2, IDCG over min(3, 1)
    assert m["nDCG@3"] == pytest.approx((row0 + row1) / 3)
    assert m["coverage@1"] == pytest.approx(2 / 5)  # {0, 4}
    assert m["coverage@3"] == pytest.approx(4 / 5)  # {0, 1, 2, 4}
    assert "PSP@1" not in m


def test_propensity_scored_metrics_by_hand():
    m = compute_metrics(PRED, TRUTH, k=(1, 3), inv_propensity=W)
    # PSP@1: hit weights 1 (row 0) / best top-1 weights 3 (row 0: max(1, 3)) + 2 (row 1)
    assert m["PSP@1"] == pytest.approx(1 / 5)
    # PSP@3: hits 1 + 3 (row 0) + 2 (row 1) over best 1 + 3 + 2
    assert m["PSP@3"] == pytest.approx(1.0)
    num = 1 + 3 / L2(4) + 2 / L2(3)
    den = (3 + 1 / L2(3)) + 2
    assert m["PSnDCG@3"] == pytest.approx(num / den)
    assert m["PSnDCG@1"] == pytest.approx(1 / 5)


def test_filter_pairs_are_removed_before_ranking():
    m = compute_metrics(PRED, TRUTH, k=(1, 3), filter_pairs=np.array([[0, 0], [1, 4]]))
    # row 0 ranks 1, 2, 3 (hit at rank 2); row 1 ranks 1 (hit at rank 1)
    assert m["P@1"] == pytest.approx(1 / 3)
    assert m["R@3"] == pytest.approx((0.5 + 1) / 3)
    assert m["coverage@1"] == pytest.approx(2 / 5)  # top-1 labels 1, 1, 0
    assert m["nDCG@3"] == pytest.approx(((1 / L2(3)) / (1 + 1 / L2(3)) + 1) / 3)


def test_k_larger_than_stored_entries_divides_by_k():
    m = compute_metrics(PRED, TRUTH, k=(10,))
    assert m["P@10"] == pytest.approx(3 / 10 / 3)
    assert m["R@10"] == pytest.approx(2 / 3)
    assert m["coverage@10"] == pytest.approx(5 / 5)  # row 0 now reaches label 3


def test_empty_predictions_and_empty_truth_score_zero():
    empty = sp.csr_matrix((3, 5), dtype=np.float32)
    m = compute_metrics(empty, TRUTH, k=(1, 5), inv_propensity=W)
    assert all(v == 0.0 for v in m.values())
    m = compute_metrics(PRED, empty, k=(1,), inv_propensity=W)
    assert m["P@1"] == 0.0 and m["PSP@1"] == 0.0 and m["coverage@1"] == pytest.approx(2 / 5)


def test_soft_truth_values_count_as_relevant_and_sparse_arrays_work():
    soft = sp.csr_array(TRUTH.multiply(0.3))
    assert compute_metrics(sp.csr_array(PRED), soft, k=(3,)) == compute_metrics(PRED, TRUTH, k=(3,))


def test_negative_and_zero_stored_scores_are_still_ranked():
    pred = sp.csr_matrix(([-1.0, 0.0], ([0, 0], [2, 1])), shape=(1, 3))
    truth = sp.csr_matrix(([1.0], ([0], [2])), shape=(1, 3))
    m = compute_metrics(pred, truth, k=(1, 2))
    assert m["P@1"] == 0.0 and m["P@2"] == pytest.approx(0.5)


@pytest.mark.parametrize("pad_limit", [1 << 20, 0])
def test_matches_a_plain_loop_on_random_data(monkeypatch, pad_limit):
    # pad_limit 0 with ragged rows takes the lexsort path instead of the padded block
    monkeypatch.setattr(metrics_module, "_PAD_LIMIT", pad_limit)
    rng = np.random.default_rng(0)
    truth = sp.random(200, 60, density=0.05, random_state=1, format="csr")
    pred = sp.random(200, 60, density=0.2, random_state=2, format="csr")
    pred = sp.vstack([pred, sp.csr_matrix(np.linspace(0.1, 1, 60)[None])]).tocsr()[1:]
    w = rng.uniform(1, 5, 60)
    m = compute_metrics(pred, truth, k=(5,), inv_propensity=w)
    p = r = 0.0
    for i in range(200):
        row = pred.getrow(i)
        top = row.indices[np.argsort(-row.data, kind="stable")][:5]
        true = set(truth.getrow(i).indices)
        hits = len(true & set(top))
        p += hits / 5
        r += hits / max(len(true), 1)
    assert m["P@5"] == pytest.approx(p / 200)
    assert m["R@5"] == pytest.approx(r / 200)


def test_bad_input_is_a_clear_error():
    with pytest.raises(SkimError, match="predictions are 3 x 5 but the true labels are 2 x 5"):
        compute_metrics(PRED, TRUTH[:2], k=(1,))
    with pytest.raises(SkimError, match="k must be positive"):
        compute_metrics(PRED, TRUTH, k=(0,))
    with pytest.raises(SkimError, match="inv_propensity"):
        compute_metrics(PRED, TRUTH, k=(1,), inv_propensity=np.ones(3))
