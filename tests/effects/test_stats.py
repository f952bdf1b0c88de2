"""Golden values of the estimators and the seeded simulation of their coverage and verdicts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from otklik.effects.stats import cluster_interval, did, its, permutation_interval, verdict


def test_cluster_interval_golden() -> None:
    t, c = np.array([1.0, 2.0, 3.0]), np.array([0.0, 0.0, 1.0])
    got = cluster_interval(t, c)
    # by hand: 2 - 1/3; se = sqrt(1/3 + 1/9) = 2/3; Welch df = (4/9)^2 / ((1/3)^2/2 + (1/9)^2/2)
    assert got.estimate == pytest.approx(5 / 3)
    df = (4 / 9) ** 2 / ((1 / 3) ** 2 / 2 + (1 / 9) ** 2 / 2)
    assert df == pytest.approx(3.2)
    half = sps.t.ppf(0.975, df) * 2 / 3
    assert got.low == pytest.approx(5 / 3 - half)
    assert got.high == pytest.approx(5 / 3 + half)


def test_permutation_golden() -> None:
    # the 6 labellings of {3, 4, 0, 1} give statistics 3, -3, -1, 0, 0, 1: two reach |3|
    got = permutation_interval(np.array([3.0, 4.0]), np.array([0.0, 1.0]))
    assert got.estimate == pytest.approx(3.0)
    assert got.p == pytest.approx(2 / 6)
    # six labellings can never reach p <= 5 %: no effect size is excluded
    assert got.low == -math.inf
    assert got.high == math.inf
    assert verdict(got, 1, (100, 100), (2, 2), None)[0] == "inconclusive"


def test_its_golden() -> None:
    weeks = np.arange(-4.0, 4.0)
    post = (weeks >= 0).astype(float)
    means = 4.0 + 0.01 * weeks + 0.5 * post
    got = its(weeks, means, post)
    assert got.estimate == pytest.approx(0.5)
    assert got.method == "its"


def _units(rng: np.random.Generator, n: int, effect: float, answers: int = 40) -> np.ndarray:
    """Per-unit change of the mean score between equal windows (answers-level noise)."""
    level = rng.normal(4.2, 0.3, n)
    shock = rng.normal(0.0, 0.1, n)  # unit-specific drift between the windows
    pre = level + rng.normal(0.0, 0.9, (answers, n)).mean(axis=0)
    post = level + shock + effect + rng.normal(0.0, 0.9, (answers, n)).mean(axis=0)
    return np.asarray(post - pre)


@pytest.mark.parametrize("units", [30, 8])  # cluster-robust (60 units) and permutation (16)
def test_simulation_coverage_and_verdicts(units: int) -> None:
    covered = confirmed_null = confirmed_effect = 0
    for seed in range(100):
        rng = np.random.default_rng(seed)
        common = rng.normal(0, 0.2)  # a shock all units share cancels out
        t, c = _units(rng, units, 0.3) + common, _units(rng, units, 0.0) + common
        got = did(t, c)
        covered += got.low <= 0.3 <= got.high
        confirmed_effect += verdict(got, 1, (500, 500), (units, units), None)[0] == "confirmed"
        t0 = _units(rng, units, 0.0) + common
        null = did(t0, c)
        confirmed_null += verdict(null, 1, (500, 500), (units, units), None)[0] == "confirmed"
    assert covered >= 93, covered
    assert confirmed_null <= 7, confirmed_null
    assert confirmed_effect >= (80 if units == 30 else 40), confirmed_effect


def test_verdict_rules() -> None:
    from otklik.effects.stats import Interval

    up = Interval(0.3, 0.1, 0.5, 0.01, "did_cluster")
    assert verdict(up, 1, (100, 100), (5, 5), 0.6)[0] == "confirmed"
    assert verdict(up, -1, (100, 100), (5, 5), 0.6)[0] == "not_confirmed"
    assert verdict(up, 1, (10, 100), (5, 5), 0.6)[0] == "inconclusive"
    assert verdict(up, 1, (100, 100), (1, 5), 0.6)[0] == "inconclusive"
    assert verdict(up, 1, (100, 100), (5, 5), 0.01)[0] == "inconclusive"
    assert math.isfinite(up.p)
