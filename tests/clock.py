"""The instants of ``make test-clock`` (UTC), one a line: late evening in UTC is already the
next day in Moscow, and the last minute of a month and of a year turns both."""

from __future__ import annotations

import calendar
import sys
from datetime import UTC, datetime


def instants(now: datetime) -> list[str]:
    day = now.date().isoformat()
    y, m = now.year, now.month
    if m == 12:  # the year's end below already is this month's: take November's
        y, m = y, 11
    month_end = f"{y}-{m:02d}-{calendar.monthrange(y, m)[1]:02d}T23:59:00+00:00"
    return [
        f"{day}T20:59:00+00:00",
        f"{day}T21:30:00+00:00",
        f"{day}T23:59:00+00:00",
        month_end,
        f"{now.year}-12-31T23:59:00+00:00",
    ]


if __name__ == "__main__":
    sys.stdout.write("\n".join(instants(datetime.now(UTC))) + "\n")
