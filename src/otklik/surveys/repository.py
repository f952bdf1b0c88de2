"""Every surveys query: versions, the form's context, the one-answer-per-record lock, drafts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.registry.models import Organization
from otklik.surveys.models import (
    QuestionnaireVersion,
    Response,
    ResponseComment,
    ResponseItem,
    SurveyDraft,
)

# What the form shows and what a response records about the service (never who answered).
CONTEXT = text(
    """
    SELECT r.id AS record_id, o.id AS organization_id, o.ogrn, o.short_name, o.type_code,
      o.region_code, o.founder_id, ot.sector, r.service_code, s.name AS service_name,
      r.life_situation_code, (r.served_at AT TIME ZONE rg.timezone)::date AS served_on,
      (now() AT TIME ZONE rg.timezone)::date AS today, r.age_band,
      CASE WHEN c.position = 0 OR (c.position IS NULL AND i.person_key = r.person_key)
        THEN 'recipient' ELSE 'representative' END AS respondent,
      coalesce((SELECT d.channel FROM deliveries d
                WHERE d.invitation_id = i.id AND d.status IN ('sent', 'delivered')
                ORDER BY d.id DESC LIMIT 1), 'unknown') AS channel
    FROM invitations i
    JOIN service_records r ON r.id = i.service_record_id
    JOIN organizations o ON o.id = r.organization_id
    JOIN organization_types ot ON ot.code = o.type_code
    JOIN regions rg ON rg.code = o.region_code
    JOIN services s ON s.code = r.service_code
    LEFT JOIN contacts c ON c.id = i.contact_id
    WHERE i.id = :id
    """
)
# Every link of the record a token belongs to, locked in id order before anything writes.
LOCK_BY_TOKEN = text(
    "SELECT id, public_id, status, completed_at FROM invitations WHERE service_record_id = "
    "(SELECT service_record_id FROM invitations WHERE token_hash = :h) ORDER BY id FOR UPDATE"
)
# The answering link is completed, the record's other links used up, their queued messages
# cancelled and the record's drafts deleted: one statement.
COMPLETE = text(
    """
    WITH links AS (
      UPDATE invitations SET
        status = CASE WHEN id = :id THEN 'completed' ELSE 'used' END,
        completed_at = CASE WHEN id = :id THEN CAST(:now AS timestamptz) END,
        started_at = CASE WHEN id = :id THEN coalesce(started_at, :now) ELSE started_at END
      WHERE id = ANY(:ids)
    ), cancelled AS (
      UPDATE deliveries SET status = 'cancelled'
      WHERE status = 'queued' AND invitation_id = ANY(:ids)
    )
    DELETE FROM survey_drafts WHERE key = ANY(:keys)
    """
)


class PublishedImmutable(Exception):
    """The database refused to change a published version (its trigger)."""


# --- versions ---


async def published_definition(session: AsyncSession, version: str) -> dict[str, Any] | None:
    stmt = select(QuestionnaireVersion.definition).where(
        QuestionnaireVersion.version == version, QuestionnaireVersion.status == "published"
    )
    return await session.scalar(stmt)


async def current_version(session: AsyncSession) -> str | None:
    stmt = (
        select(QuestionnaireVersion.version)
        .where(QuestionnaireVersion.status == "published")
        .order_by(QuestionnaireVersion.published_at.desc(), QuestionnaireVersion.version.desc())
        .limit(1)
    )
    return await session.scalar(stmt)


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


async def context(session: AsyncSession, invitation_id: int) -> Any:
    return (await session.execute(CONTEXT, {"id": invitation_id})).first()


async def lock_links(session: AsyncSession, digest: bytes) -> list[Any]:
    """Every link of the record a token belongs to, locked: two submissions for one record
    run one after another (and never hold one link each while waiting for the other)."""
    return list((await session.execute(LOCK_BY_TOKEN, {"h": digest})).all())


async def complete(
    session: AsyncSession, invitation_id: int, ids: list[int], drafts: list[bytes], now: datetime
) -> None:
    params = {"id": invitation_id, "ids": ids, "keys": drafts, "now": now}
    await session.execute(COMPLETE, params)


async def add_response(
    session: AsyncSession,
    response: dict[str, Any],
    items: list[dict[str, Any]],
    comments: list[dict[str, Any]],
) -> None:
    """One multi-row insert per table, sent as one statement."""
    stmt: Any = insert(Response).values([response])
    for n, (model, rows) in enumerate(((ResponseItem, items), (ResponseComment, comments))):
        if rows:  # the previous insert becomes a CTE of this one (rendered at the top level)
            stmt = insert(model).values(rows).add_cte(stmt.cte(f"previous_{n}"))
    await session.execute(stmt)


async def mark_started(session: AsyncSession, invitation_id: int, now: datetime) -> None:
    await session.execute(
        text("UPDATE invitations SET started_at = :now WHERE id = :id AND started_at IS NULL"),
        {"id": invitation_id, "now": now},
    )


# --- drafts ---


async def draft(session: AsyncSession, key: bytes) -> SurveyDraft | None:
    return await session.scalar(select(SurveyDraft).where(SurveyDraft.key == key))


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


async def delete_drafts(session: AsyncSession, keys: list[bytes]) -> None:
    await session.execute(delete(SurveyDraft).where(SurveyDraft.key.in_(keys)))


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
        "JOIN service_records r ON r.id = i.service_record_id "
        "WHERE i.status IN ('sent', 'delivered') AND i.completed_at IS NULL "
        "AND i.opened_at IS NULL AND i.sent_at <= :before AND i.expires_at > now() "
        "AND get_byte(uuid_send(i.public_id), 0) < :threshold "
        "AND r.record_id NOT LIKE 'DEMO-CITIZEN-%' "
        "ORDER BY i.id LIMIT :limit"
    )
    params = {"threshold": threshold, "before": sent_before, "limit": limit}
    return list((await session.execute(stmt, params)).scalars().all())


async def organization_by_ogrn(session: AsyncSession, ogrn: str) -> Organization | None:
    return await session.scalar(select(Organization).where(Organization.ogrn == ogrn))
