"""The insights pages open on the last complete month with enough comments, not the latest."""

from __future__ import annotations

from datetime import date

from otklik.insights.pages import default_month

TODAY = date(2026, 12, 7)


def test_latest_complete_month_with_enough_comments() -> None:
    # December (running) has 40 comments, November only one, October twelve
    counts = {"2026-12": 40, "2026-11": 1, "2026-10": 12, "2026-09": 30}
    assert default_month(counts, TODAY, enough=10) == "2026-10"


def test_no_complete_month_with_enough_takes_the_fullest() -> None:
    counts = {"2026-12": 40, "2026-11": 3, "2026-10": 5, "2026-09": 5}
    assert default_month(counts, TODAY, enough=10) == "2026-10"  # 5 = 5: the later one


def test_nothing_yet_is_the_current_month() -> None:
    assert default_month({}, TODAY) == "2026-12"
    assert default_month({"2026-12": 3}, TODAY) == "2026-12"
