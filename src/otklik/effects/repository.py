"""Every query of the effects domain: the windows of answers, the comparison units."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Row, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.effects.models import EffectAssessment
from otklik.kit.pagination import PageParams, like_pattern, order_by_param, paginate
from otklik.kit.scope import Scope, ScopeColumns, apply_scope

SCOPE_COLS = ScopeColumns(
    EffectAssessment.organization_id,  # type: ignore[arg-type]
    EffectAssessment.region_code,  # type: ignore[arg-type]
    EffectAssessment.founder_id,  # type: ignore[arg-type]
)

# The affected organizations and every organization of their types (the comparison units are
# those of the same types, ``CONTROLS``): a hash join on the organizations, one pass over the
# answers of the window. (``organization_id = ANY(:orgs)`` with thousands of ids was an index scan
# per id, or a linear search of the array per answer: 2-10 times slower on 1 000 000 answers.)
WINDOWS = text(
    """
SELECT r.organization_id,
       CASE WHEN r.answered_on < :mid THEN 0 WHEN r.answered_on < :release THEN 1 ELSE 2 END
         AS bucket,
       count(*) AS n, sum(r.value)::float8 AS total
FROM response_items r
JOIN organizations o ON o.id = r.organization_id
WHERE r.code = :item AND r.answered_on >= :start AND r.answered_on < :end
  AND o.type_code IN (SELECT type_code FROM organizations WHERE id = ANY(:orgs))
GROUP BY 1, 2
"""
)

WEEKS = text(
    """
SELECT floor((answered_on - CAST(:release AS date)) / 7.0)::int AS week,
       count(*) AS n, avg(value)::float8 AS mean
FROM response_items
WHERE code = :item AND answered_on >= :start AND answered_on < :end
  AND organization_id = ANY(:orgs)
GROUP BY 1 ORDER BY 1
"""
)

# comparable units: organizations of the same types as the affected ones, not affected
CONTROLS = text(
    """
SELECT o.id FROM organizations o
WHERE o.type_code IN (SELECT type_code FROM organizations WHERE id = ANY(:orgs))
  AND NOT o.id = ANY(:orgs)
"""
)

PLACE = text(
    """
SELECT count(DISTINCT region_code) AS regions, min(region_code) AS region_code,
       count(DISTINCT founder_id) AS founders, min(founder_id) AS founder_id,
       count(*) AS n, min(id) AS organization_id
FROM organizations WHERE id = ANY(:orgs)
"""
)


async def windows(
    session: AsyncSession,
    item: str,
    orgs: Sequence[int],
    start: date,
    mid: date,
    release: date,
    end: date,
) -> list[Row[Any]]:
    """Answers per organization and bucket (0: first half before, 1: second half before, 2: after)
    for the affected organizations ``orgs`` and every organization of their types."""
    params = {
        "item": item,
        "orgs": list(orgs),
        "start": start,
        "mid": mid,
        "release": release,
        "end": end,
    }
    return list((await session.execute(WINDOWS, params)).all())


async def weekly(
    session: AsyncSession, item: str, orgs: Sequence[int], start: date, release: date, end: date
) -> list[Row[Any]]:
    params = {"item": item, "orgs": list(orgs), "start": start, "release": release, "end": end}
    return list((await session.execute(WEEKS, params)).all())


async def controls(session: AsyncSession, orgs: Sequence[int]) -> list[int]:
    return [int(r) for r in (await session.scalars(CONTROLS, {"orgs": list(orgs)})).all()]


async def place(session: AsyncSession, orgs: Sequence[int]) -> Row[Any]:
    return (await session.execute(PLACE, {"orgs": list(orgs)})).one()


async def get(session: AsyncSession, scope: Scope, assessment_id: int) -> EffectAssessment | None:
    stmt = apply_scope(
        select(EffectAssessment).where(EffectAssessment.id == assessment_id), scope, SCOPE_COLS
    )
    return (await session.scalars(stmt)).one_or_none()


async def for_change(
    session: AsyncSession, scope: Scope, change_request_id: int
) -> EffectAssessment | None:
    stmt = apply_scope(
        select(EffectAssessment).where(EffectAssessment.change_request_id == change_request_id),
        scope,
        SCOPE_COLS,
    )
    return (await session.scalars(stmt)).one_or_none()


async def listing(
    session: AsyncSession, scope: Scope, params: PageParams, verdict: str | None
) -> tuple[list[EffectAssessment], int]:
    stmt = apply_scope(select(EffectAssessment), scope, SCOPE_COLS)
    if verdict:
        stmt = stmt.where(EffectAssessment.verdict == verdict)
    if params.q:
        stmt = stmt.where(EffectAssessment.title.ilike(like_pattern(params.q)))
    cols: dict[str, Any] = {
        "id": EffectAssessment.id,
        "released": EffectAssessment.released_on,
        "estimate": EffectAssessment.estimate,
    }
    stmt, _ = order_by_param(stmt, params.sort, cols, "-id")
    return await paginate(session, stmt, params)


RELEASED_ON = text(
    """
SELECT max(at) FROM improvement_events
WHERE entity = 'change_request' AND entity_id = :cr AND to_state = 'released'
"""
)

# the affected units of a regional or national change: organizations offering the service
UNITS = text(
    """
SELECT o.id FROM organizations o
JOIN service_organization_types s ON s.type_code = o.type_code
WHERE s.service_code = :service AND (CAST(:region AS text) IS NULL OR o.region_code = :region)
"""
)

DUE = text(
    """
SELECT c.id, c.title, c.state, c.hyp_indicator, r.released_at,
       e.id AS assessment_id, e.verdict
FROM change_requests c
LEFT JOIN LATERAL (SELECT max(at) AS released_at FROM improvement_events
                   WHERE entity = 'change_request' AND entity_id = c.id
                     AND to_state = 'released') r ON true
LEFT JOIN effect_assessments e ON e.change_request_id = c.id
WHERE c.state IN ('released', 'effect_assessment')
  AND (CAST(:region AS text) IS NULL OR c.region_code = :region)
ORDER BY r.released_at NULLS LAST, c.id
LIMIT 500
"""
)


async def released_at(session: AsyncSession, cr_id: int) -> Any:
    return await session.scalar(RELEASED_ON, {"cr": cr_id})


async def units_for(session: AsyncSession, service_code: str, region: str | None) -> list[int]:
    rows = await session.scalars(UNITS, {"service": service_code, "region": region})
    return [int(r) for r in rows.all()]


async def due(session: AsyncSession, region: str | None) -> list[Any]:
    return list((await session.execute(DUE, {"region": region})).all())
