"""The effect estimators (improvement.md "Numbers"): difference-in-differences and ITS.

Unit-level DiD: each unit (organization) contributes the change of its mean between equal
windows before and after the release; the effect is the mean change of the affected units
minus that of the comparison units. Clustering by organization is exact here, since each
organization is one observation: the interval uses the per-group variances of the changes
with Welch–Satterthwaite degrees of freedom (the cluster-robust variance of the two-group
regression). With fewer than ``PERMUTATION_BELOW`` units in all, the interval inverts a
permutation test of the treatment labels instead (no normality needed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy import stats as sps

PERMUTATION_BELOW = 20
PERMUTATIONS = 4000
ALPHA = 0.05
MIN_ANSWERS = 30  # per side, below this the verdict is "inconclusive"
MIN_UNITS = 2  # per side


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float
    p: float
    method: str  # did_cluster, did_permutation, its


def _welch(t: np.ndarray, c: np.ndarray) -> tuple[float, float, float]:
    """Difference of means, its standard error and Welch degrees of freedom."""
    vt, vc = t.var(ddof=1) / len(t), c.var(ddof=1) / len(c)
    se = math.sqrt(vt + vc)
    df = (vt + vc) ** 2 / (vt**2 / (len(t) - 1) + vc**2 / (len(c) - 1)) if se > 0 else 1.0
    return float(t.mean() - c.mean()), se, df


def cluster_interval(t: np.ndarray, c: np.ndarray) -> Interval:
    est, se, df = _welch(t, c)
    if se == 0:
        return Interval(est, est, est, 0.0 if est else 1.0, "did_cluster")
    q = float(sps.t.ppf(1 - ALPHA / 2, df))
    p = float(2 * sps.t.sf(abs(est) / se, df))
    return Interval(est, est - q * se, est + q * se, p, "did_cluster")


def permutation_interval(t: np.ndarray, c: np.ndarray, seed: int = 20261206) -> Interval:
    """Invert the permutation test of H0: effect = d over a grid of d (shared permutations)."""
    nt, n = len(t), len(t) + len(c)
    pooled = np.concatenate([t, c])
    is_t = np.concatenate([np.ones(nt), np.zeros(n - nt)])
    if math.comb(n, nt) <= PERMUTATIONS:
        assign = np.zeros((math.comb(n, nt), n))
        for row, chosen in enumerate(combinations(range(n), nt)):
            assign[row, list(chosen)] = 1.0
    else:
        rng = np.random.default_rng(seed)
        picks = np.argsort(rng.random((PERMUTATIONS, n)), axis=1)[:, :nt]
        assign = np.zeros((PERMUTATIONS, n))
        np.put_along_axis(assign, picks, 1.0, axis=1)
    nc = n - nt
    # statistic of a permutation for effect d: a - d * b (linear in d)
    a = assign @ pooled / nt - (pooled.sum() - assign @ pooled) / nc
    b = assign @ is_t / nt - (nt - assign @ is_t) / nc
    est, se, _ = _welch(t, c)
    p0 = float((np.abs(a) >= abs(est) - 1e-12).mean())
    for width in (6.0, 24.0, 96.0):  # widen the grid until the kept set is inside it
        span = width * max(se, 1e-3)
        grid = np.linspace(est - span, est + span, 601)
        observed = np.abs(est - grid)  # the observed statistic under d is est - d
        perm = np.abs(a[None, :] - grid[:, None] * b[None, :])
        kept = grid[(perm >= observed[:, None] - 1e-12).mean(axis=1) > ALPHA]
        if kept.size and kept.min() > grid[0] and kept.max() < grid[-1]:
            return Interval(est, float(kept.min()), float(kept.max()), p0, "did_permutation")
    # too few units: no effect size can be rejected, the interval is unbounded
    return Interval(est, -math.inf, math.inf, p0, "did_permutation")


def did(t: np.ndarray, c: np.ndarray) -> Interval:
    """DiD of per-unit changes ``t`` (affected) and ``c`` (comparison)."""
    if len(t) + len(c) < PERMUTATION_BELOW:
        return permutation_interval(t, c)
    return cluster_interval(t, c)


def its(weeks: np.ndarray, means: np.ndarray, post: np.ndarray) -> Interval:
    """Interrupted time series: OLS of weekly means on trend and a level shift at release."""
    x = np.column_stack([np.ones_like(weeks), weeks, post])
    beta, *_ = np.linalg.lstsq(x, means, rcond=None)
    resid = means - x @ beta
    df = max(len(means) - 3, 1)
    sigma2 = float(resid @ resid) / df
    cov = sigma2 * np.linalg.inv(x.T @ x)
    se = math.sqrt(max(float(cov[2, 2]), 0.0))
    est = float(beta[2])
    q = float(sps.t.ppf(1 - ALPHA / 2, df))
    p = float(2 * sps.t.sf(abs(est) / se, df)) if se > 0 else 1.0
    return Interval(est, est - q * se, est + q * se, p, "its")


def verdict(
    interval: Interval,
    direction: int,
    answers: tuple[int, int],
    units: tuple[int, int],
    pretrend_p: float | None,
) -> tuple[str, str]:
    """confirmed / not_confirmed / inconclusive, with the reason in Russian."""
    min_units = 1 if interval.method == "its" else MIN_UNITS
    if answers[0] < MIN_ANSWERS or (interval.method != "its" and answers[1] < MIN_ANSWERS):
        return "inconclusive", f"мало ответов: нужно не меньше {MIN_ANSWERS} с каждой стороны"
    if units[0] < min_units or (interval.method != "its" and units[1] < MIN_UNITS):
        return "inconclusive", f"мало организаций: нужно не меньше {MIN_UNITS} с каждой стороны"
    if not (math.isfinite(interval.low) and math.isfinite(interval.high)):
        return "inconclusive", "слишком мало организаций, чтобы интервал был конечным"
    if pretrend_p is not None and pretrend_p < ALPHA:
        return "inconclusive", "до изменения тренды групп расходились (проверка плацебо)"
    hoped = interval.low > 0 if direction > 0 else interval.high < 0
    if hoped:
        return "confirmed", "интервал не включает 0 и лежит в ожидаемом направлении"
    return "not_confirmed", "интервал включает 0 или лежит в другом направлении"
