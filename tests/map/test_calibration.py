from __future__ import annotations

import numpy as np

from skim.map.calibration import calibrated_values, isotonic_fit


def test_isotonic_fit_pools_adjacent_violators():
    # 0.3 (wrong) is below 0.2 (right): the two pool into one step at 0.5
    starts, values = isotonic_fit(np.array([0.4, 0.1, 0.3, 0.2]), np.array([1, 0, 0, 1]))
    np.testing.assert_allclose(starts, [0.1, 0.2, 0.4])
    np.testing.assert_allclose(values, [0.0, 0.5, 1.0])


def test_isotonic_fit_ties_share_a_step_and_a_falling_curve_is_flat():
    starts, values = isotonic_fit(np.array([0.5, 0.5, 0.7]), np.array([1, 0, 1]))
    np.testing.assert_allclose(starts, [0.5, 0.7])
    np.testing.assert_allclose(values, [0.5, 1.0])
    starts, values = isotonic_fit(np.array([0.1, 0.2, 0.3]), np.array([1, 1, 0]))
    np.testing.assert_allclose(starts, [0.1])
    np.testing.assert_allclose(values, [2 / 3])


def test_calibrated_values_read_the_step_at_or_below_each_score():
    starts, values = np.array([0.5, 0.7]), np.array([0.25, 0.75])
    got = calibrated_values(np.array([0.45, 0.5, 0.69, 0.7, 0.99], np.float32), starts, values)
    np.testing.assert_allclose(got, [0.25, 0.25, 0.25, 0.75, 0.75])
    assert got.dtype == np.float32
