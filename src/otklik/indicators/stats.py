"""Statistics: bounded score intervals, t and Wilson intervals, suppression, targets.

The interval for a mean on the bounded 1-5 scale (``bounded_interval``) was chosen by the
coverage simulation in ``tests/indicators/test_statistics.py`` (figures in docs/indicators.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz's method)."""
    tiny = 1e-300

    def fix(v: float) -> float:
        return v if abs(v) > tiny else tiny

    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 / fix(1.0 - qab * x / qap)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 / fix(1.0 + aa * d)
        c = fix(1.0 + aa / c)
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 / fix(1.0 + aa * d)
        c = fix(1.0 + aa / c)
        step = d * c
        h *= step
        if abs(step - 1.0) < 1e-14:
            break
    return h


def _betai(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    ln = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x)
    front = math.exp(ln + b * math.log(1.0 - x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: int) -> float:
    tail = 0.5 * _betai(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def t_quantile(p: float, df: int) -> float:
    """The p-quantile of Student's t with ``df`` degrees of freedom (bisection, 1e-10)."""
    lo, hi = -1e3, 1e3
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-10:
            break
    return (lo + hi) / 2.0


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


# Half an answer on each scale point (the Jeffreys prior of a Dirichlet over the five points):
# the dispersion is never zero, so ten fives give 4.13-5.00, not 5.00-5.00.
SMOOTHING = 0.5
# A respondent's integral averages several items, so it is smoothed by half an answer in all
# (a tenth on each point); chosen by the same simulation (docs/indicators.md).
INTEGRAL_SMOOTHING = 0.1
SCALE_LOW, SCALE_HIGH = 1.0, 5.0
Array = npt.NDArray[np.float64]


def bounded_interval_arrays(
    n: npt.ArrayLike,
    mean: npt.ArrayLike,
    var: npt.ArrayLike,
    confidence: float,
    smoothing: float = SMOOTHING,
) -> tuple[Array, Array]:
    """Score interval for means of answers on the 1-5 scale (vectorised over units).

    ``n`` answers with ``mean`` and ``var`` (their own, biased variance: sum of squared
    deviations / n). On the unit scale t = (x - 1) / 4 a variable with mean p has variance
    c * p * (1 - p), 0 < c <= 1 (c = 1 when every answer is 1 or 5). The dispersion c is taken
    from the answers plus half an answer on each point 1..5, and the interval is Wilson's score
    interval with n / c effective answers: it never leaves 1-5, is never empty or zero-width,
    follows the skew of answers near the bound, and is Wilson's interval exactly for answers
    that are all 1 or 5.
    """
    n_ = np.asarray(n, dtype=np.float64)
    m_ = np.asarray(mean, dtype=np.float64)
    v_ = np.asarray(var, dtype=np.float64)
    a = smoothing
    pts = np.arange(SCALE_LOW, SCALE_HIGH + 1.0)
    total = n_ + a * len(pts)
    ms = (n_ * m_ + a * pts.sum()) / total
    vs = (n_ * (v_ + m_ * m_) + a * (pts * pts).sum()) / total - ms * ms
    span = SCALE_HIGH - SCALE_LOW
    c = np.clip(vs / ((ms - SCALE_LOW) * (SCALE_HIGH - ms)), 1e-9, 1.0)
    ne = n_ / c
    p = np.clip((m_ - SCALE_LOW) / span, 0.0, 1.0)
    z = NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0)
    den = 1.0 + z * z / ne
    centre = (p + z * z / (2 * ne)) / den
    half = z * np.sqrt(p * (1 - p) / ne + z * z / (4 * ne * ne)) / den
    low = SCALE_LOW + span * np.maximum(0.0, centre - half)
    high = SCALE_LOW + span * np.minimum(1.0, centre + half)
    return low, high


def score_interval(counts: Sequence[int], confidence: float) -> Interval | None:
    """Interval for an item's mean from the counts of the values 1..5; None when no answer."""
    n = sum(counts)
    if n <= 0:
        return None
    mean = sum(v * c for v, c in enumerate(counts, start=1)) / n
    var = max(sum(v * v * c for v, c in enumerate(counts, start=1)) / n - mean * mean, 0.0)
    low, high = bounded_interval_arrays(n, mean, var, confidence)
    return Interval(float(low), float(high))


def integral_interval(
    value: float, n: int, total: float, sumsq: float, confidence: float
) -> Interval | None:
    """Interval for the integral index ``value`` from its ``n`` respondents' own integrals.

    ``total`` and ``sumsq`` are the sum and the sum of squares of the respondent-level
    integrals (each respondent's weighted mean of the integral items they answered): their
    variance is the sampling variance of the index, correlated items and all.
    """
    if n <= 0:
        return None
    mean = total / n
    var = max(sumsq / n - mean * mean, 0.0)
    low, high = bounded_interval_arrays(n, value, var, confidence, INTEGRAL_SMOOTHING)
    return Interval(float(low), float(high))


def wilson(k: int, n: int, confidence: float) -> Interval | None:
    """Wilson score interval for a share k/n; None when n = 0."""
    if n <= 0:
        return None
    z = NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0)
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


STATUS_LABELS = {
    "met": "достигнута",
    "on_track": "в графике",
    "behind": "отстаёт",
    "not_applicable": "не требуется",
    "no_baseline": "нет данных за прошлый год",
    "insufficient": "недостаточно данных",
}
