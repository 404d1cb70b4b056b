import numpy as np
import pytest
import scipy.sparse as sp
import torch

from skim.learners.dual import dual_loss, mine_hard_negatives, sample_positives


def test_mined_negatives_are_the_highest_scoring_non_positives():
    rng = np.random.default_rng(0)
    queries = rng.standard_normal((6, 5)).astype(np.float32)
    labels = rng.standard_normal((12, 5)).astype(np.float32)
    targets = sp.random(6, 12, density=0.3, random_state=1, format="csr", dtype=np.float32)
    targets.data[:] = 0.5
    mined = mine_hard_negatives(queries, labels, targets, 3)
    scores = queries @ labels.T
    dense = targets.toarray()
    for i in range(6):
        ranked = [j for j in np.argsort(-scores[i]) if dense[i, j] == 0]
        assert mined[i].tolist() == ranked[:3]


def test_mining_pads_with_minus_one_when_labels_run_out():
    targets = sp.csr_matrix(np.array([[1, 1, 0]], np.float32))
    mined = mine_hard_negatives(
        np.ones((1, 2), np.float32), np.eye(3, 2, dtype=np.float32), targets, 2
    )
    assert mined.tolist() == [[2, -1]]


def test_positives_are_sampled_in_proportion_to_their_soft_value():
    targets = sp.csr_matrix(np.array([[0.9, 0.0, 0.1], [0.0, 0.5, 0.0]], np.float32))
    rng = np.random.default_rng(0)
    rows = np.array([0] * 20000 + [1] * 100)
    picked = targets.indices[sample_positives(targets, rows, rng)]
    assert set(picked[rows == 1]) == {1}
    share = np.mean(picked[rows == 0] == 0)
    assert share == pytest.approx(0.9, abs=0.01)


def test_sampling_a_row_without_positives_is_an_error():
    targets = sp.csr_matrix(np.array([[0.0, 0.0], [1.0, 0.0]], np.float32))
    with pytest.raises(ValueError, match="positive"):
        sample_positives(targets, np.array([0]), np.random.default_rng(0))


def _setup():
    q = torch.nn.functional.normalize(torch.tensor([[1.0, 0.2], [0.1, 1.0]]), dim=1)
    c = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]]), dim=1)
    return q, c


def test_decoupled_softmax_matches_the_formula_and_drops_other_positives():
    q, c = _setup()
    own = torch.tensor([0, 1])
    other = torch.tensor([[False, False, True], [False, False, False]])
    loss = dual_loss(q, c, own, other, temperature=0.5)
    s = (q @ c.T / 0.5).numpy()
    row0 = -s[0, 0] + np.log(np.exp(s[0, 0]) + np.exp(s[0, 1]))  # candidate 2 is decoupled
    row1 = -s[1, 1] + np.log(np.exp(s[1]).sum())
    assert loss.item() == pytest.approx((row0 + row1) / 2, rel=1e-5)
    # moving the other positive does not change the loss
    c2 = c.clone()
    c2[2] = torch.nn.functional.normalize(torch.tensor([1.0, 0.1]), dim=0)
    other_changed = dual_loss(q[:1], c2, own[:1], other[:1], 0.5)
    assert other_changed.item() == pytest.approx(row0, rel=1e-5)


def test_positive_weights_scale_each_query_loss():
    q, c = _setup()
    own = torch.tensor([0, 1])
    other = torch.zeros(2, 3, dtype=torch.bool)
    per_row = [dual_loss(q[i : i + 1], c, own[i : i + 1], other[i : i + 1], 0.5) for i in (0, 1)]
    weighted = dual_loss(q, c, own, other, 0.5, weight=torch.tensor([2.0, 0.5]))
    assert weighted.item() == pytest.approx((2 * per_row[0] + 0.5 * per_row[1]).item() / 2)


def test_logistic_loss_is_levers_pairwise_loss():
    q, c = _setup()
    own = torch.tensor([0])
    other = torch.tensor([[False, False, True]])
    s = (q[:1] @ c.T / 0.5).numpy()[0]
    expected = np.log1p(np.exp(s[1] - s[0]))  # the only negative is candidate 1
    loss = dual_loss(q[:1], c, own, other, 0.5, kind="logistic")
    assert loss.item() == pytest.approx(expected, rel=1e-5)
