"""Periods: ``2026``, ``2026-Q3``, ``2026-11``, ``2026-11-01..2026-11-30``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from otklik.errors import DomainError

MAX_RANGE_DAYS = 366 * 5
_YEAR = re.compile(r"^(\d{4})$", re.ASCII)
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.ASCII)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$", re.ASCII)
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$", re.ASCII)
MONTHS = (
    "январь",
    "февраль",
    "март",
    "апрель",
    "май",
    "июнь",
    "июль",
    "август",
    "сентябрь",
    "октябрь",
    "ноябрь",
    "декабрь",
)


class BadPeriod(DomainError):
    status_code = 400
    code = "bad_period"
    message = (
        "Период не распознан: укажите год (2026), квартал (2026-Q3), месяц (2026-11) "
        "или диапазон дат (2026-11-01..2026-11-30)."
    )


@dataclass(frozen=True)
class Period:
    """A closed range of days with its canonical text."""

    kind: str  # year, quarter, month, range
    start: date
    end: date  # inclusive
    text: str

    @property
    def label(self) -> str:
        """Words that end without a point ("декабрь 2026 года"): pages put it mid-sentence."""
        if self.kind == "year":
            return f"{self.start.year} год"
        if self.kind == "quarter":
            return f"{(self.start.month - 1) // 3 + 1}-й квартал {self.start.year} года"
        if self.kind == "month":
            return f"{MONTHS[self.start.month - 1]} {self.start.year} года"
        return f"{self.start:%d.%m.%Y} — {self.end:%d.%m.%Y}"

    @property
    def year(self) -> int:
        return self.end.year

    def days(self) -> int:
        return (self.end - self.start).days + 1


def _month_end(year: int, month: int) -> date:
    first_next = date(year + (month == 12), month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def _year_ok(year: int) -> int:
    if not 2000 <= year <= 2100:
        raise BadPeriod(f"Год {year} вне допустимого диапазона 2000–2100.", code="bad_period")
    return year


def parse_period(text: str) -> Period:
    """Parse a period; a malformed, backwards or over-long one is a ``BadPeriod`` (400)."""
    s = text.strip()
    if len(s) > 40:
        raise BadPeriod()
    if m := _YEAR.match(s):
        y = _year_ok(int(m[1]))
        return Period("year", date(y, 1, 1), date(y, 12, 31), s)
    if m := _QUARTER.match(s):
        y, q = _year_ok(int(m[1])), int(m[2])
        return Period("quarter", date(y, 3 * q - 2, 1), _month_end(y, 3 * q), s)
    if m := _MONTH.match(s):
        y, mo = _year_ok(int(m[1])), int(m[2])
        if not 1 <= mo <= 12:
            raise BadPeriod(f"Месяц {m[2]} не существует: допустимо 01–12.")
        return Period("month", date(y, mo, 1), _month_end(y, mo), s)
    if m := _RANGE.match(s):
        try:
            start, end = date.fromisoformat(m[1]), date.fromisoformat(m[2])
        except ValueError as exc:
            raise BadPeriod("В диапазоне указана несуществующая дата.") from exc
        _year_ok(start.year)
        _year_ok(end.year)
        if end < start:
            raise BadPeriod("Конец периода раньше его начала.", code="period_backwards")
        if (end - start).days + 1 > MAX_RANGE_DAYS:
            raise BadPeriod("Период длиннее пяти лет.", code="period_too_long")
        return Period("range", start, end, s)
    raise BadPeriod()


def year_of(year: int) -> Period:
    return parse_period(str(year))


def month_of(day: date) -> Period:
    return parse_period(f"{day:%Y-%m}")


class PeriodNotAllowed(DomainError):
    status_code = 400
    code = "period_not_allowed"
    message = (
        "За такой диапазон дат показатели не выдаются: разность двух диапазонов могла бы "
        "раскрыть отдельные ответы. Укажите месяц (2026-11), квартал (2026-Q3) или год (2026)."
    )


FIXED = ("month", "quarter", "year")


def fixed_grain(period: Period) -> Period:
    """Published tables are given for whole months, quarters and years only."""
    if period.kind not in FIXED:
        raise PeriodNotAllowed()
    return period


def last_complete_month(today: date) -> Period:
    """The month before ``today``'s."""
    return month_of(today.replace(day=1) - timedelta(days=1))


def last_complete_quarter(today: date) -> Period:
    """The quarter before ``today``'s."""
    q = (today.month - 1) // 3  # 0..3: the quarters of today's year already over
    return parse_period(f"{today.year}-Q{q}" if q else f"{today.year - 1}-Q4")


def headline_windows(today: date) -> list[Period]:
    """Windows for a cabinet's headline, shortest first: the last complete month, the last
    complete quarter, the year so far, the previous year. The first one with enough answers
    is shown (``docs/indicators.md``, "Sensible periods")."""
    return [
        last_complete_month(today),
        last_complete_quarter(today),
        year_of(today.year),
        year_of(today.year - 1),
    ]


def ranking_windows(today: date) -> list[Period]:
    """Windows for the "fix first" ranking: the last complete quarter, the year so far, the
    previous year."""
    return headline_windows(today)[1:]
