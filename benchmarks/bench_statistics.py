"""Statistical properties of the indicators, by seeded simulation (no database).

Prints, each beside a baseline measured in the same run:

1. coverage of the 95 % interval for an item mean, per n band (10-19, 20-49, 50-99, 100-300),
   pooled over seven answer distributions (skewed, piled on 5, symmetric, bimodal, flat,
   skewed low, middle), and the shares of intervals lying wholly above / below the truth;
   baseline: the former t-interval on the same samples;
2. coverage of the integral index's interval (respondents answering five correlated items);
3. false alarms per weekly run of the drop chart, in control, at n = 5, 20, 50 answers a week;
   baseline: the nominal rate and the former chart (3-sigma limit from the last week's n only);
4. detection: share of runs that signal within 3 weeks of a real drop of 0.5 points, n = 20.

The simulations are those of ``tests/indicators/test_statistics.py`` (same seeds).
Run: ``uv run python benchmarks/bench_statistics.py`` (about 15 s).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.indicators.test_statistics import (
    BANDS,
    IN_CONTROL,
    RUNS,
    SHAPES,
    VALUES,
    _weeks,
    detection_rate,
    false_alarm_rate,
    integral_coverage,
    item_misses,
)

from otklik.indicators import control
from otklik.indicators.stats import t_quantile


def t_misses(seed: int = 20) -> dict[tuple[int, int], tuple[float, float, float]]:
    """The former t-interval (clipped to nothing) on the same samples as ``item_misses``."""
    rng = np.random.default_rng(seed)
    out = {}
    for lo, hi in BANDS:
        above = below = 0
        for p in SHAPES.values():
            truth = float(np.dot(p, VALUES))
            n = rng.integers(lo, hi + 1, RUNS)
            counts = rng.multinomial(n, p)
            mean = counts @ VALUES / n
            sd = np.sqrt(np.maximum(counts @ VALUES**2 - n * mean**2, 0) / (n - 1))
            q = {int(k): t_quantile(0.975, int(k) - 1) for k in np.unique(n)}
            t = np.array([q[int(k)] for k in n])
            above += int((mean - t * sd / np.sqrt(n) > truth).sum())
            below += int((mean + t * sd / np.sqrt(n) < truth).sum())
        total = RUNS * len(SHAPES)
        out[(lo, hi)] = (1 - (above + below) / total, above / total, below / total)
    return out


def old_chart_false_alarms(n: int, runs: int = 20_000, seed: int = 5) -> float:
    """The former rule: 8 + 8 weeks, lambda 0.3, limit mu0 - 3 sd/sqrt(n_last) sqrt(l/(2-l))."""
    rng = np.random.default_rng(seed + n)
    w = _weeks(rng, runs, 16, n, IN_CONTROL)
    n0 = 8 * n
    mu = w[:, :8, 0].sum(1) / n0
    var = (w[:, :8, 1].sum(1) - n0 * mu * mu) / (n0 - 1)
    z = mu.copy()
    for j in range(8, 16):
        z = 0.3 * w[:, j, 0] / n + 0.7 * z
    return float((z < mu - 3 * np.sqrt(var / n) * np.sqrt(0.3 / 1.7)).mean())


def main() -> int:
    started = time.perf_counter()
    print("1. item mean, 95 % interval: coverage (above / below) per n band")
    old = t_misses()
    for band, (cov, above, below) in item_misses().items():
        oc, oa, ob = old[band]
        print(
            f"   n {band[0]}-{band[1]}: {cov:.1%} ({above:.1%} / {below:.1%})"
            f"   baseline t-interval: {oc:.1%} ({oa:.1%} / {ob:.1%})"
        )
    print("2. integral index, 95 % interval: coverage per n band")
    for band, (cov, above, below) in integral_coverage().items():
        print(f"   n {band[0]}-{band[1]}: {cov:.1%} ({above:.1%} / {below:.1%})")
    print(f"3. drop chart, false alarms per weekly run (nominal {control.ALPHA:.2%})")
    for n in (5, 20, 50):
        rate = false_alarm_rate(n)
        print(
            f"   n = {n}/week: {rate:.2%} = {rate / control.ALPHA:.2f}x nominal"
            f"   baseline former chart: {old_chart_false_alarms(n):.2%}"
        )
    print(f"4. drop of 0.5 points at n = 20/week found within 3 weeks: {detection_rate():.1%}")
    print(f"({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
