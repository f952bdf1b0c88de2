"""Every query of «Вы сказали — мы сделали». Reads (never writes) the change requests and their
evidence (improvement), effect assessments (effects), incidents and their evidence (incidents),
comment analyses (insights) and organizations (registry)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.kit.scope import Scope, ScopeColumns, apply_scope
from otklik.registry.models import Organization, Region
from otklik.yswd.models import YswdEntry

ORG_SCOPE = ScopeColumns(Organization.id, Organization.region_code, Organization.founder_id)

# Released changes that touch the organization: its own; once assessed, those whose assessment
# covers it; before that, a change of its whole region.
CHANGES = """
SELECT c.id, c.title, c.change, c.state, c.planned_release,
       (SELECT min(e.at) FROM improvement_events e WHERE e.entity = 'change_request'
          AND e.entity_id = c.id AND e.to_state = 'released') AS released_at,
       (SELECT v.snapshot FROM change_request_evidence v WHERE v.change_request_id = c.id
          AND v.kind IN ('insight_problem', 'rising_topic') ORDER BY v.id LIMIT 1) AS topic,
       a.id AS assessment_id, a.verdict, a.estimate, a.ci_low, a.ci_high, a.indicator,
       a.n_treated, a.n_control
FROM change_requests c
LEFT JOIN effect_assessments a ON a.change_request_id = c.id
WHERE c.state IN ('released', 'effect_assessment', 'closed')
  AND (c.organization_id = :org OR CASE WHEN a.id IS NOT NULL THEN :org = ANY(a.organization_ids)
       ELSE c.organization_id IS NULL AND c.region_code = :region END)
ORDER BY c.id DESC
LIMIT 50
"""

# Changes measured without a change request (a best practice's own record): those covering it.
ASSESSED = """
SELECT a.title, a.released_on, a.id AS assessment_id, a.verdict, a.estimate, a.ci_low, a.ci_high,
       a.indicator, a.n_treated, a.n_control
FROM effect_assessments a
WHERE a.change_request_id IS NULL AND :org = ANY(a.organization_ids)
ORDER BY a.id DESC
LIMIT 50
"""

# Closed incidents of the organization, or regional ones with a signal of the organization.
INCIDENTS = """
SELECT i.id, i.title, i.subject, i.review, i.resolved_at, i.closed_at, i.opened_at
FROM incidents i
WHERE i.state = 'closed' AND i.subject NOT LIKE 'urgent:%'
  AND (i.organization_id = :org
       OR (i.organization_id IS NULL AND i.region_code = :region AND EXISTS (
             SELECT 1 FROM incident_evidence e WHERE e.incident_id = i.id
               AND e.payload->>'organization_id' = CAST(:org AS text))))
ORDER BY i.id DESC
LIMIT 50
"""

TOPIC_COUNTS = """
SELECT count(*) AS total, count(*) FILTER (WHERE CAST(:topic AS text) = ANY(topics)) AS with_topic
FROM (SELECT DISTINCT ON (response_id) response_id, topics FROM comment_analyses
      WHERE organization_id = :org AND answered_on >= :start AND answered_on < :end) c
"""


async def organization(session: AsyncSession, ogrn: str) -> Any | None:
    stmt = (
        select(Organization, Region.name.label("region_name"))
        .join(Region, Region.code == Organization.region_code)
        .where(Organization.ogrn == ogrn)
    )
    return (await session.execute(stmt)).first()


async def organization_in_scope(session: AsyncSession, scope: Scope, org_id: int) -> Any | None:
    stmt = apply_scope(select(Organization).where(Organization.id == org_id), scope, ORG_SCOPE)
    return (await session.scalars(stmt)).one_or_none()


async def changes(session: AsyncSession, org_id: int, region: str) -> Sequence[Any]:
    return (await session.execute(text(CHANGES), {"org": org_id, "region": region})).all()


async def assessed(session: AsyncSession, org_id: int) -> Sequence[Any]:
    return (await session.execute(text(ASSESSED), {"org": org_id})).all()


async def incidents(session: AsyncSession, org_id: int, region: str) -> Sequence[Any]:
    return (await session.execute(text(INCIDENTS), {"org": org_id, "region": region})).all()


async def topic_counts(
    session: AsyncSession, org_id: int, topic: str, start: date, end: date
) -> tuple[int, int]:
    """Comments (answers with a comment) of the organization in [start, end) and those of them
    that mention the topic."""
    row = (
        await session.execute(
            text(TOPIC_COUNTS), {"org": org_id, "topic": topic, "start": start, "end": end}
        )
    ).one()
    return int(row.total), int(row.with_topic)


async def approved(session: AsyncSession, org_id: int) -> Sequence[YswdEntry]:
    stmt = (
        select(YswdEntry)
        .where(YswdEntry.organization_id == org_id, YswdEntry.state == "approved")
        .order_by(YswdEntry.done_on.desc(), YswdEntry.id.desc())
        .limit(50)
    )
    return (await session.scalars(stmt)).all()


async def own(session: AsyncSession, org_id: int) -> Sequence[YswdEntry]:
    stmt = (
        select(YswdEntry)
        .where(YswdEntry.organization_id == org_id)
        .order_by(YswdEntry.id.desc())
        .limit(100)
    )
    return (await session.scalars(stmt)).all()


async def for_review(session: AsyncSession, scope: Scope) -> Sequence[Any]:
    stmt = (
        select(YswdEntry, Organization.short_name, Organization.ogrn, Organization.address)
        .join(Organization, Organization.id == YswdEntry.organization_id)
        .where(YswdEntry.state == "review")
        .order_by(YswdEntry.id)
        .limit(200)
    )
    return (await session.execute(apply_scope(stmt, scope, ORG_SCOPE))).all()


async def entry_for_update(session: AsyncSession, scope: Scope, entry_id: int) -> YswdEntry | None:
    """The entry if its organization lies in the scope (locked for the review)."""
    in_scope = apply_scope(select(Organization.id), scope, ORG_SCOPE)
    stmt = (
        select(YswdEntry)
        .where(YswdEntry.id == entry_id, YswdEntry.organization_id.in_(in_scope.scalar_subquery()))
        .with_for_update()
    )
    return (await session.scalars(stmt)).one_or_none()
