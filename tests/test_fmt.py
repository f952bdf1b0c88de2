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
