"""The demo's own queries: the organizations its history covers and the set-based writes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.outreach import repository as outreach_repository

ORGANIZATIONS = text(
    "SELECT o.id AS organization_id, o.ogrn, o.type_code, o.region_code, o.founder_id, "
    "ot.sector, ARRAY(SELECT s.service_code FROM service_organization_types s "
    "WHERE s.type_code = o.type_code ORDER BY 1) AS services "
    "FROM organizations o JOIN organization_types ot ON ot.code = o.type_code "
    "WHERE o.ogrn = ANY(:ogrns)"
)
# Column-wise arrays unnested into one multi-row INSERT per table (the rollup triggers run
# once per statement).
INSERT_RESPONSES = text(
    """
    INSERT INTO responses (id, questionnaire_version, organization_id, organization_type_code,
      region_code, founder_id, service_code, life_situation_code, served_on, answered_on,
      channel, respondent, age_band, answers)
    SELECT t.id, t.v, t.org, t.type, t.region, t.founder, t.service, t.situation, t.served,
      t.answered, t.channel, t.respondent, t.age, CAST(t.answers AS jsonb)
    FROM unnest(CAST(:rid AS uuid[]), CAST(:questionnaire_version AS text[]),
      CAST(:organization_id AS bigint[]), CAST(:organization_type_code AS text[]),
      CAST(:region_code AS text[]), CAST(:founder_id AS int[]), CAST(:service_code AS text[]),
      CAST(:life_situation_code AS text[]), CAST(:served_on AS date[]),
      CAST(:answered_on AS date[]), CAST(:channel AS text[]), CAST(:respondent AS text[]),
      CAST(:age_band AS text[]), CAST(:answers AS text[]))
      AS t(id, v, org, type, region, founder, service, situation, served, answered, channel,
        respondent, age, answers)
    """
)
INSERT_ITEMS = text(
    "INSERT INTO response_items (response_id, code, value, organization_id, answered_on) "
    "SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:codes AS text[]), "
    "CAST(:values AS smallint[]), CAST(:orgs AS bigint[]), CAST(:days AS date[]))"
)
INSERT_COMMENTS = text(
    "INSERT INTO response_comments (response_id, code, text, organization_id, answered_on) "
    "SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:codes AS text[]), "
    "CAST(:values AS text[]), CAST(:orgs AS bigint[]), CAST(:days AS date[]))"
)
RESPONSE_COLUMNS = (
    "rid",
    "questionnaire_version",
    "organization_id",
    "organization_type_code",
    "region_code",
    "founder_id",
    "service_code",
    "life_situation_code",
    "served_on",
    "answered_on",
    "channel",
    "respondent",
    "age_band",
)


async def organizations(session: AsyncSession, ogrns: list[str]) -> list[Any]:
    """What a response records about each organization and the services its type offers."""
    return list((await session.execute(ORGANIZATIONS, {"ogrns": ogrns})).all())


async def has_answers_before(session: AsyncSession, day: date) -> bool:
    """Whether any response was answered before ``day`` (the history is already there)."""
    stmt = text("SELECT EXISTS (SELECT 1 FROM responses WHERE answered_on < :day)")
    return bool(await session.scalar(stmt, {"day": day}))


async def insert_responses(
    session: AsyncSession,
    responses: Sequence[dict[str, Any]],
    items: Sequence[tuple[Any, str, int, int, date]],
    comments: Sequence[tuple[Any, str, str, int, date]],
) -> None:
    """Responses (rows as ``surveys.service.response_rows`` builds them), then their items and
    comments as (response id, code, value, organization id, answered on): three statements."""
    params: dict[str, Any] = {c: [r[c] for r in responses] for c in RESPONSE_COLUMNS}
    params["answers"] = [json.dumps(r["answers"], ensure_ascii=False) for r in responses]
    await session.execute(INSERT_RESPONSES, params)
    for stmt, rows in ((INSERT_ITEMS, items), (INSERT_COMMENTS, comments)):
        if rows:
            ids, codes, values, orgs, days = (list(c) for c in zip(*rows, strict=True))
            params = {"ids": ids, "codes": codes, "values": values, "orgs": orgs, "days": days}
            await session.execute(stmt, params)


# The services behind the history's answers: about 2.2 records per answer (coverage ≈ 45 %)
# and a delivered invitation for 80 % of them (response rate ≈ 57 %), so the past months'
# coverage and response rate are as plausible as their scores. Person keys and token hashes are
# hashes of the record's own id: no real person and no usable link stands behind them.
HISTORY_RECORDS = text(
    """
    WITH recs AS (
      INSERT INTO service_records (source_id, record_id, content_hash, organization_id,
          service_code, served_at, received_at, person_key, age_band, is_minor, channel)
      SELECT :source, 'HIST-' || r.id || '-' || g,
             sha256(convert_to('record/' || r.id || '/' || g, 'UTF8')),
             r.organization_id, r.service_code, at.served, at.served + interval '20 hours',
             sha256(convert_to('person/' || r.id || '/' || g, 'UTF8')), r.age_band,
             r.age_band IN ('0-6', '7-13', '14-17'), 'api'
      FROM responses r
      CROSS JOIN LATERAL generate_series(
        1, CASE WHEN get_byte(sha256(convert_to(r.id::text, 'UTF8')), 0) < 51 THEN 3 ELSE 2 END
      ) g
      CROSS JOIN LATERAL (
        SELECT (r.served_on + time '10:00') AT TIME ZONE 'Europe/Moscow' AS served
      ) at
      WHERE r.answered_on < :before
      RETURNING id, organization_id, served_at, person_key
    )
    """  # noqa: S608 - composed of constant fragments
    + outreach_repository.HISTORY_INVITATIONS.format(filter="get_byte(person_key, 0) < 205")
)


async def add_history_records(session: AsyncSession, source_id: int, before: date) -> None:
    """Service records and delivered invitations behind the answers given before ``before``."""
    await session.execute(
        HISTORY_RECORDS, {"source": source_id, "before": before, "questionnaire_version": "2025.1"}
    )
