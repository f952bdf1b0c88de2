"""Cabinet queries that are not figures: filter options and the comparison group's size.

Every figure comes from the indicator engine (``otklik.indicators.tables`` and ``service``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.incidents.models import Incident
from otklik.incidents.rules import OPEN as INCIDENT_OPEN
from otklik.indicators.models import IndicatorCountry, IndicatorSummary
from otklik.indicators.repository import ORG_SCOPE, UnitFilter, grain_for, of_unit, whole_country
from otklik.indicators.table_queries import Filters, Window
from otklik.insights.models import CommentAnalysis
from otklik.kit.scope import Scope, apply_scope
from otklik.registry.models import LifeSituation, Organization, OrganizationType, Region
from otklik.surveys.models import Response, ResponseItem

__all__ = ["Filters", "Window", "filter_options", "other_responding", "topic_moments"]


async def filter_options(session: AsyncSession, scope: Scope) -> tuple[list[Any], list[Any]]:
    """Types and regions that occur among the organizations in scope."""
    o = Organization
    types = select(OrganizationType.code, OrganizationType.name).where(
        OrganizationType.code.in_(apply_scope(select(o.type_code), scope, ORG_SCOPE))
    )
    regions = select(Region.code, Region.name).where(
        Region.code.in_(apply_scope(select(o.region_code), scope, ORG_SCOPE))
    )
    return (
        list((await session.execute(types.order_by(OrganizationType.position))).all()),
        list((await session.execute(regions.order_by(Region.code))).all()),
    )


async def other_responding(
    session: AsyncSession, organization: Organization, start: date, end: date
) -> int:
    """How many other organizations of the same type and region were answered about in the
    period (the comparison group is shown only when it cannot single one of them out).

    Whole months, quarters and years count the organizations with questionnaires in the
    summary rows of the period (one row per organization and month or year, as the group's
    figures are read), not every answer: at national size the answers' count took 0.7 s of an
    organization's page. Other day ranges count the answers."""
    o = Organization
    peers = (o.type_code == organization.type_code, o.region_code == organization.region_code)
    grain = grain_for(start, end)
    if grain is not None:
        s = IndicatorSummary
        stmt = (
            select(func.count(func.distinct(s.organization_id)))
            .join(o, o.id == s.organization_id)
            .where(*peers, o.id != organization.id, s.grain == grain, s.resp > 0)
            .where(s.day.between(start, end))
        )
    else:
        stmt = (
            select(func.count(func.distinct(Response.organization_id)))
            .join(o, o.id == Response.organization_id)
            .where(*peers, o.id != organization.id)
            .where(Response.answered_on >= start, Response.answered_on <= end)
        )
    return int(await session.scalar(stmt) or 0)


async def life_situation_names(session: AsyncSession, codes: list[str]) -> dict[str, str]:
    """Russian names of the life situations ``codes`` (public registry data)."""
    if not codes:
        return {}
    stmt = select(LifeSituation.code, LifeSituation.name).where(LifeSituation.code.in_(codes))
    return {str(c): str(n) for c, n in await session.execute(stmt)}


Moments = tuple[int, float, float]  # n, sum, sum of squares of the overall score


async def topic_moments(
    session: AsyncSession,
    scope: Scope,
    start: date,
    end: date,
    organization_id: int | None = None,
) -> tuple[Moments, dict[str, Moments]]:
    """The overall score over the answers given in ``start``..``end`` (inclusive) in scope
    (and of one organization, if given): its moments over all answers and over the answers
    whose comments mention each topic. Two set-based queries, read through the scope filter."""
    i, a, o = ResponseItem, CommentAnalysis, Organization
    total_q: Any
    grain = grain_for(start, end)
    if grain is not None and organization_id is None and whole_country(scope, UnitFilter(true())):
        c = IndicatorCountry.__table__.c  # the whole country: its rows of the overall item
        sq = c.n1 + 4 * c.n2 + 9 * c.n3 + 16 * c.n4 + 25 * c.n5
        total_q = select(func.sum(c.n), func.sum(c.total), func.sum(sq)).where(
            c.grain == grain, c.day.between(start, end), c.code == "overall"
        )
        own: Any = None
    elif grain is not None:  # whole months or a year: the summary's rows
        t = IndicatorSummary.__table__.c
        total_q = select(
            func.sum(t.n_overall), func.sum(t.s_overall), func.sum(t.ss_overall)
        ).where(t.grain == grain, t.day.between(start, end))
        total_q = of_unit(total_q, t.organization_id, scope, true())
        own = t.organization_id == organization_id
    else:
        total_q = select(func.count(), func.sum(i.value), func.sum(i.value * i.value)).where(
            i.code == "overall", i.answered_on >= start, i.answered_on <= end
        )
        total_q = of_unit(total_q, i.organization_id, scope, true())
        own = i.organization_id == organization_id
    if organization_id is not None:
        total_q = total_q.where(own)
    n, s, ss = (await session.execute(total_q)).one()
    mention_q = (
        select(a.response_id, a.answered_on, func.unnest(a.topics).label("topic"))
        .join(o, o.id == a.organization_id)
        .where(a.answered_on >= start, a.answered_on <= end)
    )
    if organization_id is not None:
        mention_q = mention_q.where(a.organization_id == organization_id)
    mention = apply_scope(mention_q, scope, ORG_SCOPE).distinct().subquery("mention")
    topics_q = (
        select(
            mention.c.topic,
            func.count(),
            func.sum(i.value),
            func.sum(i.value * i.value),
        )
        .join(
            i,
            (i.response_id == mention.c.response_id)
            & (i.answered_on == mention.c.answered_on)  # the partition key: one month probed
            & (i.code == "overall"),
        )
        .group_by(mention.c.topic)
    )
    topics = {
        str(t): (int(k), float(ts or 0), float(tss or 0))
        for t, k, ts, tss in (await session.execute(topics_q)).all()
    }
    return (int(n or 0), float(s or 0), float(ss or 0)), topics


async def open_incidents(
    session: AsyncSession, scope: Scope, user_id: int, limit: int = 3
) -> tuple[list[Any], int, int]:
    """Open incidents in scope, the most severe and oldest first: some rows, how many, and how
    many of them the user owns."""
    from otklik.incidents.repository import SCOPE_COLS

    base = select(Incident).where(Incident.state.in_(INCIDENT_OPEN))
    scoped = apply_scope(base, scope, SCOPE_COLS)
    rows = (
        await session.scalars(
            scoped.order_by(Incident.severity, Incident.resolve_due, Incident.id).limit(limit)
        )
    ).all()
    sub = scoped.subquery()
    counts = select(func.count(), func.count().filter(sub.c.owner_user_id == user_id))
    total, mine = (await session.execute(counts)).one()
    return list(rows), int(total or 0), int(mine or 0)
