"""The one formatter: Babel's Russian separators, a dash for a missing value."""

from __future__ import annotations

from datetime import UTC, date, datetime

from otklik.kit import fmt


def test_numbers_use_the_decimal_comma_and_grouped_thousands() -> None:
    assert fmt.num(1234.56) == "1\u00a0234,6"
    assert fmt.integer(1234567) == "1\u00a0234\u00a0567"
    assert fmt.score(4.5) == "4,50"
    assert fmt.num(0.05, 0) == "0"


def test_percent_has_a_non_breaking_space_before_the_sign() -> None:
    assert fmt.pct(41.94) == "41,9\u00a0%"
    assert fmt.pct(100) == "100,0\u00a0%"


def test_missing_values_read_as_a_dash() -> None:
    assert fmt.num(None) == fmt.pct(None) == fmt.score(None) == fmt.day(None) == "—"


def test_dates_in_words() -> None:
    assert fmt.day(date(2026, 12, 7)) == "7 декабря 2026\u202fг."
    # 21:30 UTC on New Year's Eve is already the new year in Moscow
    assert fmt.day(datetime(2026, 12, 31, 21, 30, tzinfo=UTC)) == "1 января 2027\u202fг."


def test_changes_carry_their_sign() -> None:
    assert fmt.signed(0.123) == "+0,12"
    assert fmt.signed(-0.5) == "\u22120,50"
    assert fmt.signed(0.001) == "0,00"  # no sign on what reads as zero
    assert fmt.signed(-1234.5, 1) == "\u22121\u00a0234,5"
    assert fmt.signed(None) == "—"


def test_chart_months_do_not_read_as_numbers() -> None:
    assert fmt.month_short(date(2026, 12, 1)) == "дек. 26"


def test_moments_read_in_moscow_time() -> None:
    assert fmt.moment(datetime(2026, 12, 31, 21, 30, tzinfo=UTC)) == "1 янв. 2027\u202fг., 00:30"
    at = datetime(2026, 12, 31, 21, 30, 9, tzinfo=UTC)
    assert fmt.moment(at, seconds=True) == "1 янв. 2027\u202fг., 00:30:09"


def test_typed_values_drop_trailing_zeros() -> None:
    assert fmt.num(4.5, 2, trim=True) == "4,5"
    assert fmt.num(10.0, 2, trim=True) == "10"
    assert fmt.num(0.95, 2, trim=True) == "0,95"
