"""The demo's own queries: the organizations its history covers and the set-based writes."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.intake import repository as intake_repository
from otklik.outreach import repository as outreach_repository

ORGANIZATIONS = text(
    "SELECT o.id AS organization_id, o.ogrn, o.type_code, o.region_code, o.founder_id, "
    "ot.sector, ARRAY(SELECT s.service_code FROM service_organization_types s "
    "WHERE s.type_code = o.type_code ORDER BY 1) AS services "
    "FROM organizations o JOIN organization_types ot ON ot.code = o.type_code "
    "WHERE o.ogrn = ANY(:ogrns)"
)


async def organizations(session: AsyncSession, ogrns: list[str]) -> list[Any]:
    """What a response records about each organization and the services its type offers."""
    return list((await session.execute(ORGANIZATIONS, {"ogrns": ogrns})).all())


async def has_answers_before(session: AsyncSession, day: date) -> bool:
    """Whether any response was answered before ``day`` (the history is already there)."""
    stmt = text("SELECT EXISTS (SELECT 1 FROM responses WHERE answered_on < :day)")
    return bool(await session.scalar(stmt, {"day": day}))


# The services behind the history's answers: about 2.2 records per answer (coverage ≈ 45 %)
# and a delivered invitation for 80 % of them (response rate ≈ 57 %), so the past months'
# coverage and response rate are as plausible as their scores. Person keys and token hashes are
# hashes of the record's own id: no real person and no usable link stands behind them.
HISTORY_ROWS = """
  SELECT :source AS source_id, 'HIST-' || r.id || '-' || g AS record_id,
         sha256(convert_to('record/' || r.id || '/' || g, 'UTF8')) AS content_hash,
         r.organization_id, r.service_code, at.served AS served_at,
         at.served + interval '20 hours' AS received_at,
         sha256(convert_to('person/' || r.id || '/' || g, 'UTF8')) AS person_key, r.age_band,
         r.age_band IN ('0-6', '7-13', '14-17') AS is_minor
  FROM responses r
  CROSS JOIN LATERAL generate_series(
    1, CASE WHEN get_byte(sha256(convert_to(r.id::text, 'UTF8')), 0) < 51 THEN 3 ELSE 2 END
  ) g
  CROSS JOIN LATERAL (
    SELECT (r.served_on + time '10:00') AT TIME ZONE 'Europe/Moscow' AS served
  ) at
  WHERE r.answered_on < :before
"""
# One statement: intake's insert of the records (channel ``history``: outreach queues no task
# for them) and outreach's insert of their delivered invitations, composed.
HISTORY_RECORDS = text(
    intake_repository.HISTORY_RECORDS.format(rows=HISTORY_ROWS)
    + outreach_repository.HISTORY_INVITATIONS.format(
        # 80 % of the records invited; the first record of every answer answered through its link
        filter="get_byte(person_key, 0) < 205",
        completed="record_id LIKE 'HIST-%-1'",
    )
)


async def add_history_records(session: AsyncSession, source_id: int, before: date) -> None:
    """Service records and delivered invitations behind the answers given before ``before``."""
    await session.execute(
        HISTORY_RECORDS, {"source": source_id, "before": before, "questionnaire_version": "2025.1"}
    )
