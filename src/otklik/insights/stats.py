"""Statistics for problems: Welch's difference of means and a two-proportion z for rises."""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import t as student_t


@dataclass(frozen=True)
class Group:
    n: int
    mean: float
    var: float  # sample variance (n - 1)


@dataclass(frozen=True)
class Welch:
    diff: float
    low: float
    high: float
    df: float


def complement(total: Group, part: Group) -> Group | None:
    """The group of ``total`` outside ``part`` (from counts, means and variances); None if < 2."""
    n = total.n - part.n
    if n < 2:
        return None
    s = total.mean * total.n - part.mean * part.n
    q_total = total.var * (total.n - 1) + total.n * total.mean**2
    q_part = part.var * (part.n - 1) + part.n * part.mean**2
    mean = s / n
    var = max(0.0, (q_total - q_part - n * mean**2) / (n - 1))
    return Group(n, mean, var)


def welch(a: Group, b: Group, level: float = 0.95) -> Welch | None:
    """mean(a) - mean(b) with a Welch t interval; None when a group has fewer than 2."""
    if a.n < 2 or b.n < 2:
        return None
    diff = a.mean - b.mean
    va, vb = a.var / a.n, b.var / b.n
    se2 = va + vb
    if se2 == 0:
        return Welch(diff, diff, diff, math.inf)
    df = se2**2 / (va**2 / (a.n - 1) + vb**2 / (b.n - 1))
    half = float(student_t.ppf(0.5 + level / 2, df)) * math.sqrt(se2)
    return Welch(diff, diff - half, diff + half, df)


def rise_z(k_now: int, n_now: int, k_before: int, n_before: int) -> float:
    """Two-proportion z statistic (pooled) of the share now against the share before."""
    if n_now == 0 or n_before == 0:
        return 0.0
    pooled = (k_now + k_before) / (n_now + n_before)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_now + 1 / n_before))
    if se == 0:
        return 0.0
    return (k_now / n_now - k_before / n_before) / se
