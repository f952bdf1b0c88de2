"""The page of a region or a founder as a whole, for its authority (and country-wide roles).

Everything is read from the indicator engine and the insights' stored signals within the unit's
own scope, after checking that the unit lies inside the viewer's scope (an outside unit answers
404, as a missing one: it stays hidden).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.cabinets import repository
from otklik.cabinets.svg import bar_chart, line_chart
from otklik.errors import NotFound
from otklik.identity.models import User
from otklik.identity.service import scope_of
from otklik.indicators import disclosure, regional, series, tables
from otklik.indicators import service as ind
from otklik.indicators.methodology import Methodology
from otklik.indicators.periods import Period
from otklik.indicators.schemas import IndicatorsOut
from otklik.indicators.stats import wilson
from otklik.insights import repository as insights
from otklik.insights.taxonomy import load as load_taxonomy
from otklik.kit.scope import Scope, ScopeKind

PER_PAGE = 20
IMPROVED = 5  # most improved organizations listed
SORTS = (
    "shrunk",
    "-shrunk",
    "integral",
    "-integral",
    "change",
    "-change",
    "name",
    "-name",
    "responses",
    "-responses",
)


@dataclass
class ScopePage:
    unit: ind.Unit
    figures: IndicatorsOut
    response_ci: tuple[float, float] | None
    trend: list[dict[str, Any]]
    chart: dict[str, Any]
    bands: list[tuple[str, int]]
    histogram: dict[str, Any]
    table: tables.OrgTable
    improved: list[dict[str, Any]]
    rates: list[regional.TypeRate]
    participation: list[regional.Participation]
    problems: list[dict[str, Any]] = field(default_factory=list)
    situations: list[dict[str, Any]] = field(default_factory=list)


async def unit_scope(session: AsyncSession, user: User, kind: str, key: str) -> ind.Unit:
    """The region or founder ``key`` if it lies in the viewer's scope; 404 otherwise."""
    unit = await ind.resolve_unit(session, f"{kind}:{key}")
    s = scope_of(user)
    inside = (
        s.kind is ScopeKind.country
        or (kind == "region" and s.kind is ScopeKind.region and s.region_code == unit.key)
        or (kind == "founder" and s.kind is ScopeKind.founder and s.founder_id == unit.target_id)
    )
    if not inside:
        raise NotFound(f"Не найдено: {ind.UNIT_KINDS[kind]} «{key[:60]}».", code="unit_not_found")
    return unit


def scope_of_unit(unit: ind.Unit) -> Scope:
    if unit.kind == "region":
        return Scope(ScopeKind.region, region_code=unit.key)
    return Scope(ScopeKind.founder, founder_id=int(unit.target_id))


def _response_ci(out: IndicatorsOut, m: Methodology) -> tuple[float, float] | None:
    delivered = out.counts.invitations_delivered
    if out.response_rate is None or not delivered or out.counts.responses > delivered:
        return None
    w = wilson(out.counts.responses, delivered, m.confidence)
    if w is None:
        return None
    return float(disclosure.shown(100 * w.low, 1) or 0), float(
        disclosure.shown(100 * w.high, 1) or 0
    )


def _months(period: Period) -> list[str]:
    out, y, mo = [], period.start.year, period.start.month
    while (y, mo) <= (period.end.year, period.end.month):
        out.append(f"{y}-{mo:02d}")
        y, mo = y + mo // 12, mo % 12 + 1
    return out


async def problems(
    session: AsyncSession, scope: Scope, period: Period, m: Methodology
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Problem topics of the scope (from the stored signals) and, per life situation, the
    topics of negative comments; a topic or pair with fewer answers than the threshold is not
    shown. No comment text is shown here."""
    topics = []
    for r in await insights.problem_summary(session, scope, _months(period), 20):
        answers = int(r.answers or 0)
        if answers < m.min_n:
            continue
        topics.append(
            {
                "name": r.name or r.topic,
                "organizations": int(r.organizations),
                "answers": answers,
                "diff": disclosure.shown(float(r.diff)) if r.diff is not None else None,
            }
        )
    names = load_taxonomy().names
    by: dict[str, list[tuple[str, int]]] = {}
    for r in await insights.situation_topics(session, scope, period.start, period.end, m.min_n):
        top = by.setdefault(str(r.situation), [])
        if len(top) < 3:
            top.append((names.get(r.topic, r.topic), int(r.n)))
    labels = await repository.life_situation_names(session, list(by))
    situations: list[dict[str, Any]] = [
        {"name": labels.get(c, c), "topics": t} for c, t in by.items()
    ]
    situations.sort(key=lambda s: (-sum(n for _, n in s["topics"]), s["name"]))
    return topics, situations


async def build(
    session: AsyncSession,
    user: User,
    unit: ind.Unit,
    period: Period,
    m: Methodology,
    today: date,
    sort: str,
    page: int,
    per_page: int = PER_PAGE,
) -> ScopePage:
    """Everything the page shows, for the unit's own scope (checked by ``unit_scope``)."""
    del user  # the unit was checked against the viewer's scope by ``unit_scope``
    scope = scope_of_unit(unit)
    figures = await ind.compute(session, scope, unit, period, m, today)
    trend = await series.trend(session, scope, unit, period, m)
    bands = await tables.distribution(session, scope, period, m, today)
    sort = sort if sort in SORTS else "shrunk"
    table = await regional.organization_table(
        session, scope, period, m, today, sort, page, per_page
    )
    best = await regional.organization_table(
        session, scope, period, m, today, "-change", 1, IMPROVED
    )
    topics, situations = await problems(session, scope, period, m)
    return ScopePage(
        unit=unit,
        figures=figures,
        response_ci=_response_ci(figures, m),
        trend=trend,
        chart=line_chart(trend, ("integral", "overall")),
        bands=bands,
        histogram=bar_chart(bands),
        table=table,
        improved=regional.improved_first(best.rows),
        rates=await regional.answer_rates(session, scope, period, m),
        participation=await regional.participation(session, scope, period),
        problems=topics,
        situations=situations,
    )
