"""Which of a unit's cells the disclosure rules hide, read from the database.

The rules themselves are ``disclosure``; this module gathers the counts they need: the unit's
months of the period's year (per item code), its days for a day range, and, for organizations
and regions, whether the published table of the period hides them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.indicators import disclosure, repository, tables
from otklik.indicators.methodology import Methodology
from otklik.indicators.periods import Period, PeriodNotAllowed
from otklik.kit.scope import Scope

if TYPE_CHECKING:
    from otklik.indicators.service import Unit


def _months(rows: Iterable[Any], sign: int, into: dict[str, list[int]]) -> None:
    for r in rows:
        into.setdefault(r.code, [0] * 12)[r.month.month - 1] += sign * int(r.n)


def codes_of(m: Methodology) -> list[str]:
    """The codes whose cells a page of methodology ``m`` may show (questionnaires, the
    respondents' integral, the items, the integral's items, the recommendation)."""
    return list(dict.fromkeys(["*", "*integral", *m.items, *m.integral_weights, m.recommend_item]))


async def year_months(
    session: AsyncSession,
    scope: Scope,
    unit: Unit,
    year: int,
    m: Methodology,
    minus: Unit | None = None,
) -> dict[str, list[int]]:
    """Per code of ``m`` (``codes_of``), the unit's answers in each month of ``year`` (minus
    ``minus``'s)."""
    lo, hi = date(year, 1, 1), date(year, 12, 31)
    codes = codes_of(m)
    out: dict[str, list[int]] = {}
    _months(await repository.monthly_counts(session, scope, unit.filter, lo, hi, codes), 1, out)
    if minus is not None:
        minus_rows = await repository.monthly_counts(session, scope, minus.filter, lo, hi, codes)
        _months(minus_rows, -1, out)
    return out


def _first_of_month(d: date) -> date:
    return d.replace(day=1)


def _end_of_month(d: date) -> date:
    nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return date.fromordinal(nxt.toordinal() - 1)


async def hidden_codes(
    session: AsyncSession,
    scope: Scope,
    unit: Unit,
    period: Period,
    m: Methodology,
    minus: Unit | None = None,
) -> set[str]:
    """Item codes of the unit hidden in the period (``*``: the whole unit).

    A day range that the rules do not allow is refused (``PeriodNotAllowed``).
    """
    if period.kind not in ("month", "quarter", "year"):
        if minus is not None:
            return {"*"}
        lo, hi = _first_of_month(period.start), _end_of_month(period.end)
        daily = await repository.daily_counts(session, scope, unit.filter, lo, hi)
        if not disclosure.range_allowed(daily, m.min_n):
            raise PeriodNotAllowed()
        return set()
    hidden = set()
    for code, months in (await year_months(session, scope, unit, period.year, m, minus)).items():
        if any(disclosure.small(n, m.min_n) for n in months) and disclosure.year_mask(
            months, m.min_n
        ).hides(period.kind, period.start.month):
            hidden.add(code)
    if unit.kind == "organization" and minus is None:
        if int(unit.target_id) in await tables.hidden_organizations(session, period, m):
            hidden.add("*")
    if unit.kind == "region" and unit.key in await tables.hidden_regions(session, period, m):
        hidden.add("*")
    return hidden


async def ytd_hidden_codes(
    session: AsyncSession, scope: Scope, unit: Unit, period: Period, m: Methodology
) -> set[str]:
    """Codes whose year-to-date value (1 January to the period's end) must not be shown: the
    months after it, or the hidden months within it, would hold 1..min_n-1 answers."""
    if period.kind not in ("month", "quarter", "year"):
        return {"*"}
    hidden = set()
    last = period.end.month
    for code, months in (await year_months(session, scope, unit, period.year, m)).items():
        if disclosure.small(sum(months[:last]), m.min_n) or disclosure.small(
            sum(months[last:]), m.min_n
        ):
            hidden.add(code)
            continue
        if any(disclosure.small(n, m.min_n) for n in months):
            mask = disclosure.year_mask(months, m.min_n)
            inside = sum(months[i] for i in mask.months if i < last)
            if mask.year or disclosure.small(inside, m.min_n):
                hidden.add(code)
    if unit.kind == "organization":
        year = Period("year", date(period.year, 1, 1), date(period.year, 12, 31), "")
        if int(unit.target_id) in await tables.hidden_organizations(session, year, m):
            hidden.add("*")
    return hidden
