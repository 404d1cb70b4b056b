"""Hand-checked metric values (worked out on paper in the comments)."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from skim.errors import SkimError
from skim.evaluate import compute_metrics
from skim.evaluate import metrics as metrics_module

# truth: row 0 -> {0, 2}, row 1 -> {1}, row 2 -> {} (no labels: in the means only with "keep")
TRUTH = sp.csr_matrix(np.array([[1, 0, 1, 0, 0], [0, 1, 0, 0, 0], [0, 0, 0, 0, 0]], np.float32))
# ranking: row 0 -> 0, 1, 2, 3; row 1 -> 4, 1; row 2 -> 0
PRED = sp.csr_matrix(
    np.array([[0.9, 0.8, 0.7, 0.1, 0], [0, 0.5, 0, 0, 0.6], [0.3, 0, 0, 0, 0]], np.float32)
)
W = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
L2 = math.log2


def test_precision_recall_ndcg_coverage_by_hand():
    m = compute_metrics(PRED, TRUTH, k=(1, 3), empty_rows="keep")
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
    assert m["PSnDCG@1"] == pytest.approx(1 / 5)  # every IDCG@1 is 1: the same as PSP@1


def test_psndcg_normalises_each_row_by_its_idcg_as_pyxclib_does():
    m = compute_metrics(PRED, TRUTH, k=(3,), inv_propensity=W)
    # row 0: hits w=1 at rank 1 and w=3 at rank 3; best order 3, 1; IDCG@3 over 2 labels
    dcg0, best0, idcg0 = 1 + 3 / L2(4), 3 + 1 / L2(3), 1 + 1 / L2(3)
    # row 1: hit w=2 at rank 2; best 2 at rank 1; IDCG@3 over 1 label = 1
    dcg1, best1, idcg1 = 2 / L2(3), 2.0, 1.0
    per_row = (dcg0 / idcg0 + dcg1 / idcg1) / (best0 / idcg0 + best1 / idcg1)
    assert m["PSnDCG@3"] == pytest.approx(per_row, rel=1e-12)
    pooled = (dcg0 + dcg1) / (best0 + best1)  # skim before issue 14: 6.8e-3 away here
    assert abs(m["PSnDCG@3"] - pooled) > 6e-3


def test_rows_without_labels_are_skipped_by_default_or_kept_as_zero():
    skip = compute_metrics(PRED, TRUTH, k=(1, 3), inv_propensity=W)
    assert skip == compute_metrics(PRED, TRUTH, k=(1, 3), inv_propensity=W, empty_rows="skip")
    keep = compute_metrics(PRED, TRUTH, k=(1, 3), inv_propensity=W, empty_rows="keep")
    # the two labelled rows only: row 0 hits at ranks 1, 3 of {0, 2}; row 1 at rank 2 of {1}
    assert skip["P@1"] == pytest.approx(1 / 2) and keep["P@1"] == pytest.approx(1 / 3)
    assert skip["R@3"] == pytest.approx((1 + 1) / 2) and keep["R@3"] == pytest.approx(2 / 3)
    row0 = (1 + 1 / L2(4)) / (1 + 1 / L2(3))
    assert skip["nDCG@3"] == pytest.approx((row0 + 1 / L2(3)) / 2)
    for name in ("PSP@1", "PSP@3", "PSnDCG@1", "PSnDCG@3", "coverage@1", "coverage@3"):
        assert skip[name] == keep[name]  # ratios and a property of the predictions alone
    with pytest.raises(SkimError, match="empty_rows must be one of keep, skip, got 'drop'"):
        compute_metrics(PRED, TRUTH, k=(1,), empty_rows="drop")


def test_filter_pairs_are_removed_before_ranking():
    pairs = np.array([[0, 0], [1, 4]])
    m = compute_metrics(PRED, TRUTH, k=(1, 3), filter_pairs=pairs, empty_rows="keep")
    # row 0 ranks 1, 2, 3 (hit at rank 2); row 1 ranks 1 (hit at rank 1)
    assert m["P@1"] == pytest.approx(1 / 3)
    assert m["R@3"] == pytest.approx((0.5 + 1) / 3)
    assert m["coverage@1"] == pytest.approx(2 / 5)  # top-1 labels 1, 1, 0
    assert m["nDCG@3"] == pytest.approx(((1 / L2(3)) / (1 + 1 / L2(3)) + 1) / 3)


def test_k_larger_than_stored_entries_divides_by_k():
    m = compute_metrics(PRED, TRUTH, k=(10,), empty_rows="keep")
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


def test_logits_and_cosines_rank_like_probabilities():
    logits = PRED.copy()
    logits.data = np.log(logits.data / (1 - logits.data))  # the same order, outside [0, 1]
    cosines = PRED.copy()
    cosines.data = 2 * cosines.data - 1.5  # negative scores too
    m = compute_metrics(PRED, TRUTH, k=(1, 3), inv_propensity=W)
    assert compute_metrics(logits, TRUTH, k=(1, 3), inv_propensity=W) == m
    assert compute_metrics(cosines * 40, TRUTH, k=(1, 3), inv_propensity=W) == m


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_scores_that_are_not_finite_are_a_clear_error(bad):
    pred = PRED.copy()
    pred.data[4] = bad  # row 1's first stored score
    with pytest.raises(SkimError, match=r"predictions row 1 has score (nan|inf|-inf); scores must"):
        compute_metrics(pred, TRUTH, k=(1,))


def _pyxclib_reference(pred, truth, w, k, skip):
    """pyxclib's xc_metrics written as a row loop (``precision``, ``ndcg``, ``psprecision``,
    ``psndcg``, ``recall``; ``recall_at_k`` / ``Metrics(remove_invalid=True)`` when ``skip``).

    P, R, nDCG: means of per-row values; PSP, PSnDCG: the mean of the weighted per-row value
    over the mean of the same value for the row's best ranking (the weights in decreasing
    order), where nDCG values are divided by the row's IDCG@k = sum over min(k, |y|) ranks.
    """
    sums = dict.fromkeys(("P", "R", "nDCG", "psp", "psp_best", "psn", "psn_best"), 0.0)
    rows = 0
    for i in range(pred.shape[0]):
        true = set(truth.indices[truth.indptr[i] : truth.indptr[i + 1]].tolist())
        if skip and not true:
            continue
        rows += 1
        lo, hi = pred.indptr[i], pred.indptr[i + 1]
        top = pred.indices[lo:hi][np.argsort(-pred.data[lo:hi], kind="stable")][:k].tolist()
        disc = [1 / math.log2(r + 2) for r in range(k)]
        idcg = sum(disc[: min(k, len(true))]) or 1.0  # an empty row adds 0 whatever it is
        best = sorted((w[j] for j in true), reverse=True)[:k]
        hits = [r for r, j in enumerate(top) if j in true]
        sums["P"] += len(hits) / k
        sums["R"] += len(hits) / max(len(true), 1)
        sums["nDCG"] += sum(disc[r] for r in hits) / idcg
        sums["psp"] += sum(w[top[r]] for r in hits)
        sums["psp_best"] += sum(best)
        sums["psn"] += sum(w[top[r]] * disc[r] for r in hits) / idcg
        sums["psn_best"] += sum(b * d for b, d in zip(best, disc, strict=False)) / idcg
    return {
        f"P@{k}": sums["P"] / rows,
        f"R@{k}": sums["R"] / rows,
        f"nDCG@{k}": sums["nDCG"] / rows,
        f"PSP@{k}": sums["psp"] / sums["psp_best"],
        f"PSnDCG@{k}": sums["psn"] / sums["psn_best"],
    }


@pytest.mark.parametrize("pad_limit", [1 << 20, 0])
def test_agrees_with_pyxclib_on_a_random_problem(monkeypatch, pad_limit):
    # pad_limit 0 with ragged rows takes the lexsort path instead of the padded block
    monkeypatch.setattr(metrics_module, "_PAD_LIMIT", pad_limit)
    rng = np.random.default_rng(0)
    truth = sp.random(200, 60, density=0.03, random_state=1, format="csr")  # ~16% empty rows
    pred = sp.random(200, 60, density=0.1, random_state=2, format="csr")  # some rows < k
    pred.data = rng.normal(0, 3, pred.nnz)  # logits: negative and above 1
    w = rng.uniform(1, 5, 60)
    empty = int((np.diff(truth.indptr) == 0).sum())
    assert 20 < empty < 60 and (np.diff(pred.indptr) < 5).any()
    for empty_rows in ("keep", "skip"):
        m = compute_metrics(pred, truth, k=(1, 3, 5), inv_propensity=w, empty_rows=empty_rows)
        for kk in (1, 3, 5):
            ref = _pyxclib_reference(pred, truth, w, kk, skip=empty_rows == "skip")
            for name, value in ref.items():
                assert m[name] == pytest.approx(value, rel=1e-9), (empty_rows, name)


def test_bad_input_is_a_clear_error():
    with pytest.raises(SkimError, match="predictions are 3 x 5 but the true labels are 2 x 5"):
        compute_metrics(PRED, TRUTH[:2], k=(1,))
    with pytest.raises(SkimError, match="k must be positive"):
        compute_metrics(PRED, TRUTH, k=(0,))
    with pytest.raises(SkimError, match="inv_propensity"):
        compute_metrics(PRED, TRUTH, k=(1,), inv_propensity=np.ones(3))
