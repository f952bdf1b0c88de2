"""Hand-computed golden values for every formula, and pooled-aggregation properties."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otklik.errors import DomainError
from otklik.indicators.methodology import DEFAULT as M
from otklik.indicators.periods import parse_period
from otklik.indicators.service import integral, item_out
from otklik.indicators.stats import t_quantile, wilson
from otklik.indicators.tasks import ewma_drops


def counts(values: list[int]) -> dict[str, int]:
    c = {"n": len(values), "total": sum(values)}
    c.update({f"n{v}": values.count(v) for v in range(6)})
    return c


def test_t_quantiles_match_tables() -> None:
    # Student's t table: t(0.975; 1) = 12.706, t(0.975; 9) = 2.262, t(0.975; 29) = 2.045
    assert t_quantile(0.975, 1) == pytest.approx(12.706, abs=1e-3)
    assert t_quantile(0.975, 9) == pytest.approx(2.262, abs=1e-3)
    assert t_quantile(0.975, 29) == pytest.approx(2.045, abs=1e-3)


def test_item_score_interval_and_csat_wilson() -> None:
    # 5,5,5,4,4,4,3,3,2,1: mean 3.6, sum of squares 146. With half an answer on each point:
    # 12.5 answers, mean 43.5/12.5 = 3.48, variance 173.5/12.5 - 3.48^2 = 1.7696; dispersion
    # c = 1.7696 / (2.48 * 1.52) = 0.46944; n/c = 21.302 effective answers; Wilson at
    # p = (3.6-1)/4 = 0.65: centre 0.62710, half 0.18784 -> [0.43926, 0.81494] -> [2.76, 4.26]
    # csat = 6/10 = 60 %; Wilson z=1.96: centre 0.57225, half 0.25957 -> [31.3 %, 83.2 %]
    out = item_out("overall", counts([5, 5, 5, 4, 4, 4, 3, 3, 2, 1]), M, hide=False)
    assert (out.n, out.mean, out.ci_low, out.ci_high) == (10, 3.6, 2.76, 4.26)
    assert (out.csat, out.csat_ci_low, out.csat_ci_high) == (60.0, 31.3, 83.2)
    assert not out.suppressed


def test_wilson_interval_at_zero() -> None:
    w = wilson(0, 10, 0.95)  # 0/10: [0, z^2/(n+z^2)] = [0, 3.8415/13.8415] = [0, 0.27753]
    assert w is not None
    assert (w.low, w.high) == (pytest.approx(0.0, abs=1e-12), pytest.approx(0.27753, abs=1e-5))


def test_small_numbers_are_suppressed() -> None:
    out = item_out("overall", counts([5] * 9), M, hide=False)
    assert out.suppressed
    assert out.mean is None
    assert out.csat is None
    assert out.n == 9
    # the unit is hidden as a whole when it has fewer than 10 responses
    assert item_out("overall", counts([5] * 12), M, hide=True).suppressed


def test_integral_is_weighted_mean_of_available_items() -> None:
    means = {"organization": 4.0, "comfort": 5.0, "staff": 3.0, "overall": 1.0}
    # information and accessibility absent; overall is not an integral item: (4+5+3)/3
    assert integral(means, M) == pytest.approx(4.0)
    assert integral({}, M) is None


@pytest.mark.parametrize(
    "text",
    [
        "2026-13",
        "26",
        "2026-Q5",
        "2026-02-30..2026-03-01",
        "2026-12-01..2026-11-01",
        "2020-01-01..2026-01-01",
        "",
        "2026-11-01..",
        "1999",
        "٢٠٢٦",  # Arabic-Indic digits: not a year (they would reach a file name)
        "٢٠٢٦-١١",
    ],
)
def test_bad_periods(text: str) -> None:
    with pytest.raises(DomainError) as exc:
        parse_period(text)
    assert exc.value.status_code == 400


def test_periods() -> None:
    assert (parse_period("2026-Q3").start.isoformat(), parse_period("2026-Q3").end.isoformat()) == (
        "2026-07-01",
        "2026-09-30",
    )
    assert parse_period("2024-02").end.day == 29
    assert parse_period("2026").days() == 365
    assert parse_period("2026-11-01..2026-11-30").days() == 30


scores = st.lists(st.integers(1, 5), min_size=0, max_size=60)


@settings(max_examples=200, deadline=None)
@given(st.lists(scores, min_size=1, max_size=6))
def test_pooled_aggregate_of_parts_equals_whole(parts: list[list[int]]) -> None:
    """Adding the parts' counts gives the same figures as computing on all answers at once."""
    merged: dict[str, int] = {}
    for p in parts:
        for k, v in counts(p).items():
            merged[k] = merged.get(k, 0) + v
    whole = [v for p in parts for v in p]
    assert merged == counts(whole)
    a, b = item_out("overall", merged, M, False), item_out("overall", counts(whole), M, False)
    assert a == b
    if len(whole) >= 10:
        # half-up in decimal, the one presentation rounding (not float round-half-even)
        mean = Decimal(sum(whole)) / Decimal(len(whole))
        csat = Decimal(100 * sum(v >= 4 for v in whole)) / Decimal(len(whole))
        assert a.mean == float(mean.quantize(Decimal("0.01"), ROUND_HALF_UP))
        assert a.csat == float(csat.quantize(Decimal("0.1"), ROUND_HALF_UP))


def test_ewma_flags_a_drop_and_not_noise() -> None:
    steady = dict.fromkeys(range(19), (20, 20 * 4.6, 20 * 4.6**2 + 20 * 0.25))
    dropped = {**steady, 17: (20, 20 * 3.0, 20 * 9.0), 18: (20, 20 * 3.0, 20 * 9.0)}
    thin = {i: (4, 4 * 3.0, 4 * 9.0) if i > 15 else w for i, w in dropped.items()}
    flags = ewma_drops({1: steady, 2: dropped, 3: thin, 4: dict(list(steady.items())[:3])})
    assert list(flags) == [2]  # weeks of fewer than 5 answers and short baselines are skipped
    assert flags[2]["ewma"] < flags[2]["lower_limit"] < flags[2]["baseline"] == 4.6
