"""Every surveys query: versions, the form's context, the one-answer-per-record lock, drafts."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.db import Sql, Statements
from otklik.outreach import repository as outreach_repository
from otklik.surveys.models import QuestionnaireVersion, SurveyDraft

# What the form shows and what a response records about the service (never who answered),
# with the link's state, its draft and the public ids of the record's links (their drafts go
# when the record is answered). The first opening of a usable link is recorded by the same
# statement (the CTE; the SELECT still sees the row as it was).
FORM = Sql(
    """
    WITH opened AS ("""  # noqa: S608 - composed of constant fragments
    + outreach_repository.OPEN_LINK
    + """)
    SELECT i.id, i.status, i.completed_at, i.expires_at, i.started_at,
      i.questionnaire_version, r.id AS record_id, o.id AS organization_id, o.ogrn,
      o.short_name, o.type_code, o.region_code, o.founder_id, ot.sector, r.service_code,
      s.name AS service_name, r.life_situation_code, rg.name AS region_name, o.address,
      (r.served_at AT TIME ZONE rg.timezone)::date AS served_on,
      (now() AT TIME ZONE rg.timezone)::date AS today, r.age_band,
      CASE WHEN c.position = 0 OR (c.position IS NULL AND i.person_key = r.person_key)
        THEN 'recipient' ELSE 'representative' END AS respondent,
      coalesce((SELECT d.channel FROM deliveries d  -- not older than its invitation
                WHERE d.invitation_id = i.id AND d.created_at >= i.created_at
                  AND d.status IN ('sent', 'delivered')
                ORDER BY d.id DESC LIMIT 1), 'unknown') AS channel,
      ARRAY(SELECT l.public_id FROM invitation_keys l WHERE l.service_record_id = r.id
            ORDER BY l.id) AS links,
      sd.questionnaire_version AS draft_version, sd.answers AS draft_answers
    FROM invitation_keys k
    JOIN invitations i ON i.id = k.id AND i.created_at = k.created_at
    JOIN service_record_keys rk ON rk.id = k.service_record_id
    CROSS JOIN LATERAL ("""
    + outreach_repository.RECORD_OF_KEY
    + """) r
    JOIN organizations o ON o.id = r.organization_id
    JOIN organization_types ot ON ot.code = o.type_code
    JOIN regions rg ON rg.code = o.region_code
    JOIN services s ON s.code = r.service_code
    LEFT JOIN contacts c ON c.id = i.contact_id
    LEFT JOIN survey_drafts sd ON sd.key = :draft
    WHERE k.token_hash = :h
    """
)


def _of_locked(fragment: str) -> str:
    """An outreach fragment over ``:ids`` applied to the links locked by STORE."""
    assert fragment.count("ANY(:ids)") == 1  # noqa: S101 - a constant checked at import
    return fragment.replace("ANY(:ids)", "ANY(ARRAY(SELECT id FROM locked))")


# A questionnaire's own integral (``responses.integral``): the weighted mean of its integral
# items with the default methodology version's weights (indicators' ``methodology_versions``,
# read only), NULL without an integral item. STORE writes it from the submitted items; the
# indicators' fold sets it right (``set_integrals``) whenever the items say otherwise.
INTEGRAL_WEIGHTS_SQL = (
    "SELECT key AS code, value::float8 AS w FROM methodology_versions, "
    "jsonb_each_text(definition -> 'integral_weights') WHERE is_default"
)
_ITEMS_INTEGRAL = (
    "(SELECT CASE WHEN sum(w.w) > 1e-9 THEN sum(w.w * t.value) / sum(w.w) END "  # noqa: S608
    "FROM unnest(CAST(:item_codes AS text[]), CAST(:item_values AS smallint[])) AS t(code, value) "
    f"JOIN ({INTEGRAL_WEIGHTS_SQL}) w USING (code) WHERE w.w > 0)"
)


def set_integrals(rows: str) -> str:
    """A statement (for a data-modifying CTE) setting ``responses.integral`` from ``rows``
    (``response_id, answered_on, v``) where it differs."""
    return (
        f"UPDATE responses r SET integral = n.v FROM ({rows}) n "  # noqa: S608 - composed SQL
        "WHERE r.id = n.response_id AND r.answered_on = n.answered_on "
        "AND r.integral IS DISTINCT FROM n.v"
    )


# One statement, one round trip, its own transaction: the record's links locked in id order
# (a second submission for the record waits here, then sees the first one's result: rows
# locked with FOR UPDATE are re-read at their newest version), and only when none of them is
# answered or used up: the response with its numeric items and sealed comments, the answering
# link completed, the record's other links used up, their queued messages cancelled and the
# record's drafts deleted. Returns whether this link was answered before and whether the
# record was (so nothing was stored).
STORE = Sql(
    """
    WITH locked AS (
      SELECT i.id, i.status, i.completed_at FROM invitation_keys k
      JOIN invitations i ON i.id = k.id AND i.created_at = k.created_at
      WHERE k.service_record_id = :record_id ORDER BY i.id FOR UPDATE OF i
    ), state AS (
      SELECT coalesce(bool_or(id = :id AND completed_at IS NOT NULL), false) AS answered,
        coalesce(bool_or(completed_at IS NOT NULL OR status = 'used'), false) AS gone
      FROM locked
    ), response AS (
      INSERT INTO responses (id, questionnaire_version, organization_id,
        organization_type_code, region_code, founder_id, service_code, life_situation_code,
        served_on, answered_on, channel, respondent, age_band, answers, integral)
      SELECT :rid, :questionnaire_version, :organization_id, :organization_type_code,
        :region_code, :founder_id, :service_code, :life_situation_code, :served_on,
        :answered_on, :channel, :respondent, :age_band, CAST(:answers AS jsonb), """  # noqa: S608
    + _ITEMS_INTEGRAL
    + """
      FROM state WHERE NOT state.gone
      RETURNING id
    ), items AS (
      INSERT INTO response_items (response_id, code, value, organization_id, answered_on)
      SELECT response.id, t.code, t.value, :organization_id, :answered_on
      FROM response,
        unnest(CAST(:item_codes AS text[]), CAST(:item_values AS smallint[])) AS t(code, value)
    ), comments AS (
      INSERT INTO sealed_comments (response_id, code, sealed, organization_id, answered_on)
      SELECT response.id, t.code, t.sealed, :organization_id, :answered_on
      FROM response,
        unnest(CAST(:comment_codes AS text[]), CAST(:comment_sealed AS bytea[]))
        AS t(code, sealed)
    ), links AS ("""
    + _of_locked(outreach_repository.COMPLETE_LINKS)
    + """ AND EXISTS (SELECT FROM response)
    ), cancelled AS ("""
    + _of_locked(outreach_repository.CANCEL_QUEUED)
    + """ AND EXISTS (SELECT FROM response)
    ), drafts AS (
      DELETE FROM survey_drafts WHERE key = ANY(CAST(:keys AS bytea[]))
        AND EXISTS (SELECT FROM response)
    )
    SELECT answered, gone FROM state
    """
)


class PublishedImmutable(Exception):
    """The database refused to change a published version (its trigger)."""


# --- versions ---


PUBLISHED_DEFINITION = Sql(
    "SELECT definition FROM questionnaire_versions WHERE version = :v AND status = 'published'"
)
CURRENT_VERSION = Sql(
    "SELECT version FROM questionnaire_versions WHERE status = 'published' "
    "ORDER BY published_at DESC, version DESC LIMIT 1"
)


async def published_definition(db: Statements, version: str) -> dict[str, Any] | None:
    row = await db.one(PUBLISHED_DEFINITION, {"v": version})
    return None if row is None else dict(row.definition)


async def current_version(db: Statements) -> str | None:
    row = await db.one(CURRENT_VERSION, {})
    return None if row is None else str(row.version)


async def ensure_published(
    session: AsyncSession, version: str, title: str, definition: dict[str, Any], now: datetime
) -> bool:
    """Publish the built-in version if the database lacks it; True when it was added."""
    stmt = (
        pg_insert(QuestionnaireVersion)
        .values(
            version=version,
            title=title,
            definition=definition,
            status="published",
            published_at=now,
        )
        .on_conflict_do_nothing(index_elements=[QuestionnaireVersion.version])
        .returning(QuestionnaireVersion.version)
    )
    return (await session.scalar(stmt)) is not None


async def list_versions(session: AsyncSession) -> list[QuestionnaireVersion]:
    stmt = select(QuestionnaireVersion).order_by(QuestionnaireVersion.created_at.desc())
    return list((await session.scalars(stmt)).all())


async def get_version(session: AsyncSession, version: str) -> QuestionnaireVersion | None:
    return await session.get(QuestionnaireVersion, version)


async def published_definitions(session: AsyncSession) -> list[dict[str, Any]]:
    stmt = select(QuestionnaireVersion.definition).where(QuestionnaireVersion.status == "published")
    return list((await session.scalars(stmt)).all())


async def save_version(
    session: AsyncSession, version: str, title: str, definition: dict[str, Any]
) -> None:
    """Insert a draft version or replace a draft; a published one raises PublishedImmutable."""
    stmt = pg_insert(QuestionnaireVersion).values(
        version=version, title=title, definition=definition, status="draft"
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[QuestionnaireVersion.version],
        set_={"title": title, "definition": definition, "created_at": text("now()")},
    )
    await _guarded(session, stmt)


async def publish_version(session: AsyncSession, version: str, now: datetime) -> None:
    stmt = (
        update(QuestionnaireVersion)
        .where(QuestionnaireVersion.version == version)
        .values(status="published", published_at=now)
    )
    await _guarded(session, stmt)


async def _guarded(session: AsyncSession, stmt: Any) -> None:
    try:
        async with session.begin_nested():
            await session.execute(stmt)
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == "23514":
            raise PublishedImmutable() from None
        raise


# --- the form ---


async def form(db: Statements, digest: bytes, draft_key: bytes, now: datetime) -> Any:
    """The link's row (state, context, draft; see FORM), its first opening recorded."""
    return await db.one(FORM, {"h": digest, "draft": draft_key, "now": now})


# STORE's arrays travel as array literals (one text parameter each, cast by the statement):
# psycopg dumps a Python list element by element in Python, with a regular expression per
# element for bytea, which cost more CPU than the rest of the submission's parameters.


def text_array(values: Iterable[str]) -> str:
    """A ``text[]`` literal: every element quoted, ``"`` and ``\\`` escaped."""
    quoted = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return "{" + ",".join(quoted) + "}"


def bytea_array(values: Iterable[bytes]) -> str:
    """A ``bytea[]`` literal: every element in hex (``"\\\\x…"``, backslash escaped)."""
    return "{" + ",".join('"\\\\x' + v.hex() + '"' for v in values) + "}"


async def store_response(
    db: Statements,
    response: dict[str, Any],
    items: list[tuple[str, int]],
    sealed: list[tuple[str, bytes]],
    done: dict[str, Any],
) -> tuple[bool, bool]:
    """The response and the record's completion (see STORE); ``done``: the ``record_id``, the
    answering link ``id``, the record's draft ``keys`` and ``now``.
    Returns (this link was answered already, the record was answered or used up): in either
    case nothing was stored."""
    params = {
        **response,
        "answers": orjson.dumps(response["answers"]).decode(),
        "item_codes": text_array(code for code, _ in items),
        "item_values": "{" + ",".join(str(int(value)) for _, value in items) + "}",
        "comment_codes": text_array(code for code, _ in sealed),
        "comment_sealed": bytea_array(body for _, body in sealed),
        **done,
        "keys": bytea_array(done["keys"]),
    }
    row: Any = await db.one(STORE, params)  # always one row (the aggregate ``state``)
    return bool(row.answered), bool(row.gone)


# --- sealed comments (the masking worker) ---

# A batch of sealed comments taken off the queue (oldest first; rows another worker holds are
# skipped). The DELETE is undone with the job's transaction if masking fails.
TAKE_SEALED = text(
    """
    DELETE FROM sealed_comments s
    WHERE (s.response_id, s.code) IN (
      SELECT response_id, code FROM sealed_comments
      ORDER BY created_at LIMIT :size
      FOR UPDATE SKIP LOCKED
    )
    RETURNING s.response_id, s.code, s.sealed, s.organization_id, s.answered_on
    """
)


async def take_sealed(session: AsyncSession, size: int) -> list[Any]:
    return list((await session.execute(TAKE_SEALED, {"size": size})).all())


async def pending_comments(session: AsyncSession) -> int:
    """Comments still sealed (waiting for the masking worker)."""
    return int(await session.scalar(text("SELECT count(*) FROM sealed_comments")) or 0)


# --- drafts ---


async def save_draft(
    session: AsyncSession, key: bytes, version: str, answers: dict[str, Any], expires: datetime
) -> None:
    stmt = pg_insert(SurveyDraft).values(
        key=key, questionnaire_version=version, answers=answers, expires_at=expires
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[SurveyDraft.key],
        set_={"answers": answers, "questionnaire_version": version, "updated_at": text("now()")},
    )
    await session.execute(stmt)


async def purge_drafts(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(delete(SurveyDraft).where(SurveyDraft.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)


async def demo_unanswered(
    session: AsyncSession, threshold: int, sent_before: datetime, limit: int
) -> list[Any]:
    """Demo only: delivered, unanswered links whose first id byte is below ``threshold``
    (a stable share of people who answer). Links a visitor has opened and the demo citizen's
    own links are left for people to try."""
    stmt = text(
        "SELECT i.public_id FROM invitations i "
        "JOIN service_record_keys r ON r.id = i.service_record_id "
        "WHERE i.status IN ('sent', 'delivered') AND i.completed_at IS NULL "
        "AND i.opened_at IS NULL AND i.sent_at <= :before AND i.expires_at > now() "
        "AND get_byte(uuid_send(i.public_id), 0) < :threshold "
        "AND r.record_id NOT LIKE 'DEMO-CITIZEN-%' "
        "ORDER BY i.id LIMIT :limit"
    )
    params = {"threshold": threshold, "before": sent_before, "limit": limit}
    return list((await session.execute(stmt, params)).scalars().all())


# --- bulk answers (the demo's history): surveys owns the answer tables, so it owns these ---

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
        await _insert_columns(session, stmt, rows)


async def insert_comments(
    session: AsyncSession, comments: Sequence[tuple[Any, str, str, int, date]]
) -> None:
    """Masked comments as (response id, code, text, organization id, answered on)."""
    await _insert_columns(session, INSERT_COMMENTS, comments)


async def _insert_columns(
    session: AsyncSession, stmt: Any, rows: Sequence[tuple[Any, ...]]
) -> None:
    if rows:
        ids, codes, values, orgs, days = (list(c) for c in zip(*rows, strict=True))
        params = {"ids": ids, "codes": codes, "values": values, "orgs": orgs, "days": days}
        await session.execute(stmt, params)
