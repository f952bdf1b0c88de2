"""One formatter for every number and date a person reads: pages, charts and exports.

Babel's Russian locale decides the separators (decimal comma, non-breaking-space thousands,
a non-breaking space before "%"), so no page writes its own rules. ``None`` reads as a dash.
Registered as Jinja filters by :func:`register`: ``num``, ``integer``, ``pct``, ``score``,
``day``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal

from otklik.kit.clock import moscow_date

LOCALE = "ru_RU"
DASH = "—"
NBSP = "\u00a0"

Number = int | float | Decimal


def num(value: Number | None, digits: int = 1) -> str:
    """A number with ``digits`` decimals: ``1234.56`` → ``"1 234,6"``."""
    if value is None:
        return DASH
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(value, format=pattern, locale=LOCALE)


def integer(value: Number | None) -> str:
    """A count: ``12345`` → ``"12 345"``."""
    return num(value, 0)


def pct(value: Number | None, digits: int = 1) -> str:
    """A value already in percent: ``41.94`` → ``"41,9 %"``."""
    if value is None:
        return DASH
    return f"{num(value, digits)}{NBSP}%"


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


def register(env: Any) -> None:
    """Make the formatters Jinja filters of ``env``."""
    env.filters.update(num=num, integer=integer, pct=pct, score=score, day=day)
