"""One formatter for every number and date a person reads: pages, charts and exports.

Babel's Russian locale decides the separators (decimal comma, non-breaking-space thousands,
a non-breaking space before "%"), so no page writes its own rules. ``None`` reads as a dash.
Registered as Jinja filters by :func:`register`: ``num``, ``integer``, ``pct``, ``score``,
``day``, ``signed``, ``moment``,
``month``, ``month_short``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal

from otklik.kit.clock import MOSCOW, moscow_date

LOCALE = "ru_RU"
DASH = "—"
NBSP = "\u00a0"

Number = int | float | Decimal


def num(value: Number | None, digits: int = 1, trim: bool = False) -> str:
    """A number with ``digits`` decimals: ``1234.56`` → ``"1 234,6"``; ``trim`` drops trailing
    zeros (``4.5`` → ``"4,5"``, ``1.0`` → ``"1"``) for values people typed, such as goals."""
    if value is None:
        return DASH
    pattern = "#,##0" + ("." + ("#" if trim else "0") * digits if digits > 0 else "")
    return format_decimal(value, format=pattern, locale=LOCALE)


def integer(value: Number | None) -> str:
    """A count: ``12345`` → ``"12 345"``."""
    return num(value, 0)


def pct(value: Number | None, digits: int = 1) -> str:
    """A value already in percent: ``41.94`` → ``"41,9 %"``."""
    if value is None:
        return DASH
    return f"{num(value, digits)}{NBSP}%"


def signed(value: Number | None, digits: int = 2) -> str:
    """A change with its sign: ``0.123`` → ``"+0,12"``, ``-0.5`` → ``"−0,50"``."""
    if value is None:
        return DASH
    text = num(-value if value < 0 else value, digits)
    if text.strip("0,") == "":
        return text
    return ("+" if value > 0 else "\u2212") + text


def score(value: Number | None) -> str:
    """A score on the 1–5 scale: two decimals, ``4.5`` → ``"4,50"``."""
    return num(value, 2)


def day(value: date | datetime | None) -> str:
    """A date: ``2026-12-07`` → ``"7 декабря 2026 г."``; a moment reads as its Moscow date."""
    if value is None:
        return DASH
    if isinstance(value, datetime):
        value = moscow_date(value)
    return format_date(value, format="long", locale=LOCALE)


def moment(value: datetime | None, *, seconds: bool = False) -> str:
    """A moment in Moscow time: ``"7 дек. 2026 г., 14:05"`` (``"…, 14:05:09"`` with seconds)."""
    if value is None:
        return DASH
    local = value.astimezone(MOSCOW)
    clock = f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}"
    return f"{format_date(local.date(), format='medium', locale=LOCALE)}, {clock}"


def month(value: date) -> str:
    """A month in words: ``2026-12-01`` → ``"декабрь 2026"``."""
    return format_date(value, format="LLLL y", locale=LOCALE)


def month_short(value: date) -> str:
    """A chart's month tick: ``2026-12-01`` → ``"дек. 26"`` ("12.26" would read as a number)."""
    return format_date(value, format="LLL yy", locale=LOCALE)


def register(env: Any) -> None:
    """Make the formatters Jinja filters of ``env``."""
    env.filters.update(
        num=num,
        integer=integer,
        pct=pct,
        score=score,
        day=day,
        signed=signed,
        moment=moment,
        month=month,
        month_short=month_short,
    )
