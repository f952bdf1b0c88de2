"""The calibrated EWMA chart behind the weekly drop signals (pure; vectorised over units).

Each unit has a baseline (its answers in the ``BASELINE_WEEKS`` weeks before the monitored
ones) and ``MONITORED_WEEKS`` weekly means. Weekly means are charted on the arcsine scale
y = asin(sqrt((x - 1) / 4)), where means of answers piled up near 5 are far less skewed. The
lower limit uses the exact variance of ``EWMA - baseline``: every monitored week's own n,
the weeks it skipped, and the baseline mean's own variance; its quantile is Student's t with
the baseline's degrees of freedom (the variance is estimated). The false-alarm rate per run
and the detection power are measured by ``tests/indicators/test_statistics.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from otklik.indicators.stats import SMOOTHING, t_quantile

LAMBDA = 0.5
ALPHA = 0.01  # nominal false alarms per unit per weekly run (one-sided)
BASELINE_WEEKS = 16
MONITORED_WEEKS = 3
MIN_WEEK_N = 5  # a week with fewer answers is skipped
MIN_BASELINE_WEEKS = 4

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Chart:
    """Per unit: baseline mean (1-5), the EWMA and its lower limit (both back on 1-5), alarm."""

    baseline: Array
    ewma: Array
    lower_limit: Array
    alarm: npt.NDArray[np.bool_]
    usable: npt.NDArray[np.bool_]


@lru_cache(maxsize=4096)
def _quantile(df: int) -> float:
    return t_quantile(1.0 - ALPHA, max(df, 1))


def _to_arcsine(x: Array) -> Array:
    return np.arcsin(np.sqrt(np.clip((x - 1.0) / 4.0, 0.0, 1.0)))


def _from_arcsine(y: Array) -> Array:
    return 1.0 + 4.0 * np.sin(np.clip(y, 0.0, np.pi / 2)) ** 2


def ewma_chart(
    base_n: npt.ArrayLike,
    base_total: npt.ArrayLike,
    base_sumsq: npt.ArrayLike,
    base_weeks: npt.ArrayLike,
    week_n: npt.ArrayLike,
    week_total: npt.ArrayLike,
) -> Chart:
    """Chart units (rows) from baseline sums and monitored weeks (columns, oldest first).

    ``base_*`` sum the baseline weeks with at least ``MIN_WEEK_N`` answers (``base_weeks`` of
    them); monitored weeks with fewer answers must come with n = 0 and are skipped.
    """
    n0 = np.asarray(base_n, dtype=np.float64)
    t0 = np.asarray(base_total, dtype=np.float64)
    s0 = np.asarray(base_sumsq, dtype=np.float64)
    wn = np.atleast_2d(np.asarray(week_n, dtype=np.float64))
    wt = np.atleast_2d(np.asarray(week_total, dtype=np.float64))
    valid = wn >= MIN_WEEK_N
    usable = (np.asarray(base_weeks) >= MIN_BASELINE_WEEKS) & valid.any(axis=1)
    safe_n0 = np.maximum(n0, 1.0)
    mu = t0 / safe_n0
    # per-answer variance and mean with half an answer on each point (never zero)
    a = SMOOTHING
    ms = (t0 + 15 * a) / (n0 + 5 * a)
    var = np.maximum((s0 + 55 * a) / (n0 + 5 * a) - ms * ms, 1e-9)
    th = np.clip((ms - 1.0) / 4.0, 1e-6, 1 - 1e-6)
    var_y = var / (64.0 * th * (1.0 - th))  # delta method for asin(sqrt(t))
    base_y = _to_arcsine(mu)
    z = base_y.copy()
    keep = np.ones_like(n0)  # weight of the baseline in z
    acc = np.zeros_like(n0)  # sum of squared weights / n of the monitored weeks
    for j in range(wn.shape[1]):
        ok = valid[:, j]
        x = _to_arcsine(wt[:, j] / np.maximum(wn[:, j], 1.0))
        z = np.where(ok, LAMBDA * x + (1 - LAMBDA) * z, z)
        acc = np.where(ok, (1 - LAMBDA) ** 2 * acc + LAMBDA**2 / np.maximum(wn[:, j], 1.0), acc)
        keep = np.where(ok, (1 - LAMBDA) * keep, keep)
    sd = np.sqrt(var_y * (acc + (1 - keep) ** 2 / safe_n0))
    q = np.array([_quantile(int(d) - 1) for d in np.maximum(n0, 2)])
    lcl = base_y - q * sd
    return Chart(
        baseline=mu,
        ewma=_from_arcsine(z),
        lower_limit=_from_arcsine(lcl),
        alarm=usable & (z < lcl),
        usable=usable,
    )
