"""The one clock: instants are UTC; national dates are Moscow dates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

MOSCOW = ZoneInfo("Europe/Moscow")


def now_utc() -> datetime:
    return datetime.now(UTC)


def moscow_date(at: datetime | None = None) -> date:
    """The Moscow calendar date of ``at`` (an aware instant), or today's when omitted."""
    return (at or now_utc()).astimezone(MOSCOW).date()
