"""The simulated generator writes exactly the asked share of the missing pairs, at the asked
precision, with plausible wrong labels, and never a known or true pair as a wrong one."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from skim.errors import SkimError
from skim.simulate.generator import (
    SIMULATED,
    label_recovery_rates,
    largest_remainder,
    pair_quality,
    simulate_generator,
)

# 4 queries x 8 labels. Complete labels and the known ones (observed + seed):
#   row 0: true {0, 1, 2, 3}, known {0}    -> missing {1, 2, 3}
#   row 1: true {1, 2},       known {1, 2} -> nothing missing
#   row 2: true {4, 5, 6},    known {}     -> missing {4, 5, 6}
#   row 3: true {0, 7},       known {0}    -> missing {7}
# 7 missing pairs, 11 true pairs.
TRUTH = [[0, 1, 2, 3], [1, 2], [4, 5, 6], [0, 7]]
KNOWN = [[0], [1, 2], [], [0]]


def _matrix(rows: list[list[int]], n_labels: int = 8) -> sp.csr_matrix:
    dense = np.zeros((len(rows), n_labels), np.float32)
    for i, cols in enumerate(rows):
        dense[i, cols] = 1
    return sp.csr_matrix(dense)


def _pairs(matrix: sp.csr_matrix) -> set[tuple[int, int]]:
    coo = matrix.tocoo()
    return set(zip(coo.row.tolist(), coo.col.tolist(), strict=True))


TRUTH_M, KNOWN_M = _matrix(TRUTH), _matrix(KNOWN)
MISSING = _pairs(TRUTH_M) - _pairs(KNOWN_M)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_counts_and_rates_are_exact(seed):
    # recovery 4/7 of 7 missing -> 4 correct pairs; precision 0.5 -> 4 wrong ones
    pairs, info = simulate_generator(TRUTH_M, KNOWN_M, precision=0.5, recovery=4 / 7, seed=seed)
    written = _pairs(pairs)
    correct, wrong = written & MISSING, written - MISSING
    assert (len(correct), len(wrong)) == (4, 4)
    assert info["precision"] == 0.5 and info["recovery"] == 4 / 7
    assert info["generator"] == SIMULATED and "never a SKIM row" in SIMULATED
    assert not wrong & _pairs(TRUTH_M) and not written & _pairs(KNOWN_M)
    # per row: the floor or the ceiling of 4/7 of its missing pairs (3, 0, 3, 1 missing)
    per_row = [sum(1 for r, _ in correct if r == i) for i in range(4)]
    assert per_row[1] == 0 and per_row[0] in (1, 2) and per_row[2] in (1, 2)
    assert per_row[3] in (0, 1) and sum(per_row) == 4
    assert set(pairs.data.tolist()) == {1.0}
    assert pair_quality(KNOWN_M + pairs, KNOWN_M, TRUTH_M) == {
        "new_pairs": 8,
        "correct_pairs": 4,
        "missing_pairs": 7,
        "precision": 0.5,
        "recovery": 4 / 7,
    }


def test_precision_one_and_recovery_zero():
    pairs, info = simulate_generator(TRUTH_M, KNOWN_M, precision=1.0, recovery=1.0)
    assert _pairs(pairs) == MISSING and info["wrong_pairs"] == 0
    empty, info = simulate_generator(TRUTH_M, KNOWN_M, precision=0.3, recovery=0.0)
    assert empty.nnz == 0 and info["precision"] is None and info["recovery"] == 0.0


def test_realised_precision_is_within_one_pair_of_the_asked_one():
    # 7 correct; 7 * 0.6 / 0.4 = 10.5 -> 10 wrong (numpy rounds half to even): 7 / 17
    pairs, info = simulate_generator(TRUTH_M, KNOWN_M, precision=0.4, recovery=1.0)
    assert (info["correct_pairs"], info["wrong_pairs"]) == (7, 10) and pairs.nnz == 17
    assert abs(info["precision"] - 0.4) <= 1 / 17


def test_wrong_labels_are_the_true_labels_nearest_neighbours():
    # label j is nearest to label (j + 4) % 8 only (inner product 1, 0 with the others)
    vecs = np.eye(8, dtype=np.float32)
    for j in range(8):
        vecs[j, (j + 4) % 8] = 0.5
    pairs, info = simulate_generator(
        TRUTH_M, KNOWN_M, precision=0.5, recovery=1.0, label_vecs=vecs, neighbours=1
    )
    wrong = _pairs(pairs) - MISSING
    # candidates per row (near labels that are not true): 4, 5, 6, 7 | 5, 6 | 0, 1, 2 | 4, 3
    plausible = {(i, (j + 4) % 8) for i, cols in enumerate(TRUTH) for j in cols}
    assert wrong <= plausible and info["random_wrong_pairs"] == 0
    assert info["wrong_labels"] == "near true labels"
    # 7 wrong pairs spread by true labels (4, 2, 3, 2) / 11: 2.55, 1.27, 1.91, 1.27 -> 3, 1, 2, 1
    assert [sum(1 for r, _ in wrong if r == i) for i in range(4)] == [3, 1, 2, 1]


def test_without_embeddings_wrong_labels_are_uniform_random():
    pairs, info = simulate_generator(TRUTH_M, KNOWN_M, precision=0.5, recovery=1.0)
    assert info["wrong_labels"] == "uniform random"
    assert info["random_wrong_pairs"] == info["wrong_pairs"] == 7
    assert not (_pairs(pairs) - MISSING) & _pairs(TRUTH_M)


def test_a_precision_the_labels_cannot_hold_is_one_sentence():
    # precision 0.25 asks 21 wrong pairs; row 0 would need 7 of its 4 non-true labels
    with pytest.raises(SkimError, match="train query 0 has too few wrong labels left"):
        simulate_generator(TRUTH_M, KNOWN_M, precision=0.25, recovery=1.0)


def test_same_seed_same_pairs_other_seed_other_choice():
    a, _ = simulate_generator(TRUTH_M, KNOWN_M, 0.5, 4 / 7, seed=3)
    b, _ = simulate_generator(TRUTH_M, KNOWN_M, 0.5, 4 / 7, seed=3)
    assert (a != b).nnz == 0
    others = [simulate_generator(TRUTH_M, KNOWN_M, 0.5, 4 / 7, seed=s)[0] for s in range(6)]
    assert any((a != o).nnz for o in others)


@pytest.mark.parametrize(
    ("precision", "recovery", "message"),
    [
        (0.0, 0.5, "--precision must be in \\(0, 1\\]"),
        (1.2, 0.5, "--precision must be in"),
        (0.5, -0.1, "--recovery must be in \\[0, 1\\]"),
    ],
)
def test_bad_rates_are_one_sentence(precision, recovery, message):
    with pytest.raises(SkimError, match=message):
        simulate_generator(TRUTH_M, KNOWN_M, precision, recovery)


def test_shapes_must_agree():
    with pytest.raises(SkimError, match="known labels are 4 x 7"):
        simulate_generator(TRUTH_M, _matrix(KNOWN, 7), 0.5, 0.5)
    with pytest.raises(SkimError, match="3 label vectors for 8 labels"):
        simulate_generator(TRUTH_M, KNOWN_M, 0.5, 0.5, label_vecs=np.eye(3))


def test_largest_remainder_quotas_sum_exactly_and_stay_floor_or_ceiling():
    rng = np.random.default_rng(0)
    shares = np.array([0.5, 1.5, 2.25, 0.75])
    quotas = largest_remainder(shares, 5, rng)
    assert quotas.sum() == 5
    assert all(np.floor(s) <= q <= np.ceil(s) for s, q in zip(shares, quotas, strict=True))
    assert quotas[3] == 1  # largest fractional part is served first


def test_label_weights_put_the_correct_pairs_on_the_weighted_labels():
    weights = np.zeros(8)
    weights[[3, 7]] = [1.0, 5.0]  # missing pairs with these labels: (0, 3) and (3, 7)
    pairs, info = simulate_generator(TRUTH_M, KNOWN_M, 1.0, 2 / 7, label_weights=weights)
    assert _pairs(pairs) == {(0, 3), (3, 7)} and info["correct_labels"] == "weighted"
    one, _ = simulate_generator(TRUTH_M, KNOWN_M, 1.0, 1 / 7, label_weights=weights)
    assert _pairs(one) <= {(0, 3), (3, 7)} and one.nnz == 1
    with pytest.raises(SkimError, match="asks 3 pairs but only 2 missing pairs"):
        simulate_generator(TRUTH_M, KNOWN_M, 1.0, 3 / 7, label_weights=weights)


def test_label_recovery_rates_are_a_real_generators_label_mix():
    # a "real" generator recovers (0, 1) and (2, 4) and writes a wrong (1, 0)
    labels = KNOWN_M + _matrix([[1], [0], [4], []])
    rates = label_recovery_rates(labels, KNOWN_M, TRUTH_M, floor=0.1)
    # missing per label: 1:1, 2:1, 3:1, 4:1, 5:1, 6:1, 7:1, 0:0; recovered: labels 1 and 4
    assert rates[1] == rates[4] == 1.0 and rates[0] == 0.0
    assert np.allclose(rates[[2, 3, 5, 6, 7]], 0.1)  # the floor keeps every share reachable
