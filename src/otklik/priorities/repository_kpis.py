"""Queries of participants' indicators over other domains' tables (change requests, roadmaps,
incidents, passports): read-only, set-based, one statement per indicator group and kind.

Each table locates its rows by ``region_code`` / ``organization_id`` / ``founder_id``; a
participant's key is the region, the founder (directly or through the organization) or the
organization's OGRN. Callers check the tables exist first (``repository.table_exists``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

KEYX = {
    "region": "coalesce(x.region_code, o.region_code)",
    "founder": "f.code",
    "organization": "o.ogrn",
}
LOCATE = (
    "LEFT JOIN organizations o ON o.id = x.organization_id "
    "LEFT JOIN founders f ON f.id = coalesce(x.founder_id, o.founder_id)"
)

# Due: planned release in the period and already past (or released). On time: released (first
# transition to «released», Moscow date) no later than planned. Effects: closed in the period.
CHANGE_REQUESTS = """
    WITH rel AS (
        SELECT entity_id, min(at) AS released_at FROM improvement_events
        WHERE entity = 'change_request' AND to_state = 'released' GROUP BY entity_id
    ), x AS (
        SELECT c.*, (rel.released_at AT TIME ZONE 'Europe/Moscow')::date AS released_on
        FROM change_requests c LEFT JOIN rel ON rel.entity_id = c.id
    )
    SELECT {key} AS k,
        count(*) FILTER (WHERE x.planned_release BETWEEN :start AND :end
                           AND (x.planned_release < :today OR x.released_on IS NOT NULL)) AS due,
        count(*) FILTER (WHERE x.planned_release BETWEEN :start AND :end
                           AND x.released_on <= x.planned_release) AS on_time,
        count(*) FILTER (WHERE x.state = 'closed'
                           AND (x.updated_at AT TIME ZONE 'Europe/Moscow')::date
                               BETWEEN :start AND :end) AS closed,
        count(*) FILTER (WHERE x.state = 'closed' AND x.outcome = 'confirmed'
                           AND (x.updated_at AT TIME ZONE 'Europe/Moscow')::date
                               BETWEEN :start AND :end) AS confirmed
    FROM x {locate}
    GROUP BY 1
"""
# Due: the approved (baseline) due date, else the plan, in the period and past. Slip: days
# completed (or, if still open, today) after that date, 0 when on time.
MEASURES = """
    WITH x AS (
        SELECT m.*, r.region_code, r.organization_id, r.founder_id, r.report_every_days,
               coalesce(m.baseline_due, m.planned_due) AS due
        FROM roadmap_measures m JOIN roadmaps r ON r.id = m.roadmap_id
    )
    SELECT {key} AS k,
        count(*) FILTER (WHERE x.due BETWEEN :start AND :end AND x.due < :today) AS due,
        count(*) FILTER (WHERE x.due BETWEEN :start AND :end AND x.due < :today
                           AND x.completed_on <= x.due) AS on_time,
        percentile_cont(0.5) WITHIN GROUP (
            ORDER BY greatest(0, coalesce(x.completed_on, CAST(:today AS date)) - x.due))
            FILTER (WHERE x.due BETWEEN :start AND :end AND x.due < :today) AS median_slip
    FROM x {locate}
    GROUP BY 1
"""
# A report is on time when it came no later than the roadmap's reporting interval after the
# previous report of the measure (or its planned start).
REPORTS = """
    WITH rep AS (
        SELECT p.reported_at, m.planned_start, r.report_every_days,
               r.region_code, r.organization_id, r.founder_id,
               lag(p.reported_at) OVER (PARTITION BY p.measure_id ORDER BY p.reported_at) AS prev
        FROM roadmap_measure_reports p
        JOIN roadmap_measures m ON m.id = p.measure_id JOIN roadmaps r ON r.id = m.roadmap_id
    ), x AS (
        SELECT *, (reported_at AT TIME ZONE 'Europe/Moscow')::date AS day,
               coalesce((prev AT TIME ZONE 'Europe/Moscow')::date, planned_start) AS since
        FROM rep
    )
    SELECT {key} AS k,
        count(*) FILTER (WHERE x.day BETWEEN :start AND :end) AS due,
        count(*) FILTER (WHERE x.day BETWEEN :start AND :end
                           AND x.day - x.since <= x.report_every_days) AS on_time
    FROM x {locate}
    GROUP BY 1
"""
# Incidents opened in the period: acknowledged by ``ack_due`` and resolved by ``resolve_due``
# (the incidents domain moves the due times when the clock is paused); an open incident whose
# due time has passed counts as a breach, one not yet due is not counted.
INCIDENTS = """
    SELECT {key} AS k,
        count(*) FILTER (WHERE x.acknowledged_at IS NOT NULL OR x.ack_due < now()) AS ack_n,
        count(*) FILTER (WHERE x.acknowledged_at <= x.ack_due) AS ack_ok,
        count(*) FILTER (WHERE x.resolved_at IS NOT NULL OR x.resolve_due < now()) AS res_n,
        count(*) FILTER (WHERE x.resolved_at <= x.resolve_due) AS res_ok
    FROM incidents x {locate}
    WHERE (x.opened_at AT TIME ZONE 'Europe/Moscow')::date BETWEEN :start AND :end
    GROUP BY 1
"""
GROUPS = {
    "change_requests": CHANGE_REQUESTS,
    "roadmap_measures": MEASURES,
    "roadmap_measure_reports": REPORTS,
    "incidents": INCIDENTS,
}


async def group_rows(
    session: AsyncSession, table: str, kind: str, start: date, end: date, today: date
) -> dict[str, dict[str, Any]]:
    """{participant key: counts} of one indicator group for every participant of a kind."""
    sql = GROUPS[table].format(key=KEYX[kind], locate=LOCATE)
    rows = await session.execute(text(sql), {"start": start, "end": end, "today": today})
    return {str(r.k): dict(r._mapping) for r in rows if r.k is not None}


# The applicant's burden from the latest national «current state» passport of each subject,
# approved or in force first.
BURDEN = text(
    """
    SELECT DISTINCT ON (subject_kind, subject_code)
           subject_kind, subject_code,
           (body ->> 'actions')::float AS actions,
           jsonb_array_length(coalesce(body -> 'documents', '[]'::jsonb))::float AS documents,
           (body ->> 'term_days')::float AS days
    FROM passports
    WHERE doc = 'current' AND region_code IS NULL
    ORDER BY subject_kind, subject_code, status IN ('approved', 'in_force') DESC, version DESC
    """
)
# Only incidents whose subject names a service or life situation («service:<code>») count;
# those about an indicator or a topic («indicator:overall») cannot be attributed to a subject.
OPEN_INCIDENTS = text(
    """
    SELECT split_part(subject, ':', 1) AS kind, split_part(subject, ':', 2) AS code,
           count(*) AS n
    FROM incidents
    WHERE state IN ('new', 'acknowledged', 'in_progress', 'waiting', 'escalated')
      AND (subject LIKE 'service:%' OR subject LIKE 'life\\_situation:%')
    GROUP BY 1, 2
    """
)


async def burden(session: AsyncSession) -> dict[tuple[str, str], dict[str, float | None]]:
    rows = await session.execute(BURDEN)
    return {
        (r.subject_kind, r.subject_code): {
            "actions": r.actions,
            "documents": r.documents,
            "days": r.days,
        }
        for r in rows
    }


async def open_incidents(session: AsyncSession) -> dict[tuple[str, str], int]:
    return {(str(k), str(c)): int(n) for k, c, n in await session.execute(OPEN_INCIDENTS)}
