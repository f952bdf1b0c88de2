"""Figures built on a unit's own ones: the monthly trend and the 344н-style unweighted mean."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import DomainError
from otklik.indicators import protection, repository, table_queries, tables
from otklik.indicators.disclosure import YearMask, shown, year_mask
from otklik.indicators.methodology import Methodology
from otklik.indicators.periods import Period, month_of
from otklik.indicators.schemas import IndicatorsOut
from otklik.indicators.service import Unit, hidden_item, integral, shown_means
from otklik.kit.scope import Scope


class BadAggregation(DomainError):
    status_code = 400
    code = "bad_aggregation"
    message = (
        "Невзвешенное среднее (344н) считается для единиц из нескольких организаций "
        "(субъект, тип, отрасль, учредитель, страна) за месяц, квартал или год."
    )


async def unweighted(
    session: AsyncSession,
    scope: Scope,
    unit: Unit,
    period: Period,
    m: Methodology,
    pooled: IndicatorsOut,
) -> IndicatorsOut:
    """The 344н-style figures: each item and the integral as the plain mean of the values the
    organizations table shows for the unit's organizations (hidden rows left out); ``n`` is
    the number of organizations averaged. Counts and ratios stay those of the unit."""
    if unit.kind in ("organization", "service", "life_situation") or period.kind == "range":
        raise BadAggregation()
    hidden = sorted(await tables.hidden_organizations(session, period, m))
    stmt = table_queries.unit_means(m, period.start, period.end, scope, unit.filter.orgs)
    row = (await session.execute(stmt, {"hidden_ids": hidden})).one()._mapping
    items = []
    for code in m.items:
        k = int(row[f"k_{code}"])
        if k == 0 or pooled.counts.responses < m.min_n:
            items.append(hidden_item(code, k))
            continue
        items.append(
            hidden_item(code, k).model_copy(update={"mean": shown(row[code]), "suppressed": False})
        )
    value = None if pooled.integral.suppressed else shown(row["integral"])
    zone = [i.code for i in items if i.mean is not None and i.mean < m.improvement_threshold]
    if value is not None and value < m.improvement_threshold:
        zone.append("integral")
    return pooled.model_copy(
        update={
            "aggregation": "unweighted",
            "items": items,
            "integral": pooled.integral.model_copy(
                update={"value": value, "suppressed": value is None}
            ),
            "improvement_zone": zone,
        }
    )


async def trend(
    session: AsyncSession, scope: Scope, unit: Unit, period: Period, m: Methodology
) -> list[dict[str, Any]]:
    """Monthly overall and integral means over the twelve months to the period's end, each
    month hidden as the unit's own month would be (its year's protection, as the headline)."""
    end = period.end
    start = date(end.year - (end.month < 12), end.month % 12 + 1, 1)  # 12 months, end's included
    codes = ["*", "overall", *m.integral_weights]
    rows = await repository.monthly_counts(session, scope, unit.filter, start, end, codes)
    masks: dict[int, dict[str, YearMask]] = {}
    for year in {start.year, end.year}:
        months = await protection.year_months(session, scope, unit, year, m)
        masks[year] = {code: year_mask(n, m.min_n) for code, n in months.items()}
    by_month: dict[date, dict[str, dict[str, int]]] = {}
    for r in rows:
        by_month.setdefault(r.month, {})[r.code] = {"n": int(r.n), "total": int(r.total)}
    out = []
    for month, c in sorted(by_month.items()):
        hidden = {q for q, mask in masks[month.year].items() if mask.hides("month", month.month)}
        if unit.kind == "organization":
            shut = await tables.hidden_for(session, month_of(month), m.min_n)
            if int(unit.target_id) in shut:
                hidden.add("*")
        means = shown_means(c, m, hidden)
        out.append(
            {
                "month": month,
                "responses": c.get("*", {"n": 0})["n"],
                "overall": shown(means.get("overall")),
                "integral": shown(
                    integral({q: v for q, v in means.items() if q in m.integral_weights}, m)
                ),
            }
        )
    return out
