"""System Usability Scale (Brooke, 1996): 10 items answered 1..5, score 0..100.

Odd items are worded positively and contribute (answer − 1); even items negatively and
contribute (5 − answer); the sum (0..40) times 2.5 is the score.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from scipy import stats as sps


def score(answers: Sequence[int]) -> float:
    if len(answers) != 10 or any(a not in (1, 2, 3, 4, 5) for a in answers):
        raise ValueError("SUS needs ten answers from 1 to 5")
    total = sum((a - 1) if i % 2 == 0 else (5 - a) for i, a in enumerate(answers))
    return total * 2.5


def mean_interval(values: Sequence[float]) -> tuple[float, float | None, float | None]:
    """Mean with its 95 % t interval (None with fewer than two values)."""
    n = len(values)
    if n == 0:
        return math.nan, None, None
    mean = sum(values) / n
    if n < 2:
        return mean, None, None
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(sps.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return mean, mean - half, mean + half
