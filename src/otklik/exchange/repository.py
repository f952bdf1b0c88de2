"""Every query of the exchange domain."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from otklik.exchange.models import ExchangeBatch, ExchangeItem
from otklik.kit.pagination import PageParams, paginate

# One line per answer, built by PostgreSQL: never a person key, contact, token or invitation.
_PICK = text(
    """
    WITH picked AS (
      DELETE FROM exchange_queue q
      WHERE q.response_id IN (
        SELECT response_id FROM exchange_queue e
        WHERE answered_on >= :since
          -- an answer leaves once its comments are masked (surveys' masking worker)
          AND NOT EXISTS (SELECT 1 FROM sealed_comments s WHERE s.response_id = e.response_id)
        ORDER BY answered_on
        LIMIT :size
        FOR UPDATE SKIP LOCKED
      )
      RETURNING q.response_id, q.answered_on
    )
    SELECT r.id, r.answered_on, jsonb_build_object(
        'response_key', r.id,
        'organization_ogrn', o.ogrn,
        'service_code', r.service_code,
        'life_situation_code', r.life_situation_code,
        'region_code', r.region_code,
        'answered_on', r.answered_on,
        'questionnaire_version', r.questionnaire_version,
        'methodology_version', CAST(:methodology AS text),
        'items', coalesce((SELECT jsonb_object_agg(i.code, i.value ORDER BY i.code)
                           FROM response_items i
                           WHERE i.response_id = r.id AND i.answered_on = r.answered_on),
                          '{}'::jsonb),
        'comments', coalesce((SELECT jsonb_object_agg(c.code, c.text ORDER BY c.code)
                              FROM response_comments c WHERE c.response_id = r.id), '{}'::jsonb)
      )::text
    FROM picked p
    JOIN responses r ON r.id = p.response_id AND r.answered_on = p.answered_on
    JOIN organizations o ON o.id = r.organization_id
    ORDER BY r.answered_on, r.id
    """
)


async def take_queued(
    session: AsyncSession, *, since: date, size: int, methodology: str
) -> list[tuple[uuid.UUID, date, str]]:
    """Remove up to ``size`` answers from the queue (oldest first) and return their lines."""
    rows = await session.execute(_PICK, {"since": since, "size": size, "methodology": methodology})
    return [(r[0], r[1], r[2]) for r in rows]


async def count_queued(session: AsyncSession, since: date) -> tuple[int, date | None, date | None]:
    row = (
        await session.execute(
            text(
                "SELECT count(*), min(answered_on), max(answered_on) FROM exchange_queue "
                "WHERE answered_on >= :since"
            ),
            {"since": since},
        )
    ).one()
    return int(row[0]), row[1], row[2]


async def default_methodology(session: AsyncSession) -> str:
    version = await session.scalar(
        text("SELECT version FROM methodology_versions ORDER BY is_default DESC, version LIMIT 1")
    )
    return str(version or "")


async def add_batch(
    session: AsyncSession, batch: ExchangeBatch, responses: list[uuid.UUID]
) -> None:
    session.add(batch)
    await session.flush()
    await session.execute(
        text(
            "INSERT INTO exchange_items (response_id, batch_id) "
            "SELECT unnest(CAST(:ids AS uuid[])), :batch"
        ),
        {"ids": responses, "batch": batch.id},
    )


async def move_items(session: AsyncSession, responses: list[uuid.UUID], batch: uuid.UUID) -> None:
    await session.execute(
        update(ExchangeItem)
        .where(ExchangeItem.response_id.in_(responses))
        .values(batch_id=batch)
        .execution_options(synchronize_session=False)
    )


async def due_batches(
    session: AsyncSession, receiver: str, now: datetime, limit: int
) -> list[ExchangeBatch]:
    """Batches to send now, oldest first, locked so that two workers never send one twice."""
    stmt = (
        select(ExchangeBatch)
        .where(
            ExchangeBatch.receiver == receiver,
            ExchangeBatch.status.in_(("pending", "retrying")),
            ExchangeBatch.next_attempt_at <= now,
        )
        .order_by(ExchangeBatch.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(stmt)).all())


@dataclass(frozen=True)
class StatusRow:
    status: str
    batches: int
    answers: int
    last_error: str | None


async def status_summary(session: AsyncSession, receiver: str) -> list[StatusRow]:
    stmt = (
        select(
            ExchangeBatch.status,
            func.count(),
            func.coalesce(func.sum(ExchangeBatch.count), 0),
            ExchangeBatch.last_error,
        )
        .where(ExchangeBatch.receiver == receiver)
        .group_by(ExchangeBatch.status, ExchangeBatch.last_error)
        .order_by(ExchangeBatch.status)
    )
    return [StatusRow(r[0], int(r[1]), int(r[2]), r[3]) for r in await session.execute(stmt)]


async def count_responses(session: AsyncSession) -> int:
    return int(await session.scalar(text("SELECT count(*) FROM responses")) or 0)


async def list_batches(
    session: AsyncSession, receiver: str, status: str | None, params: PageParams
) -> tuple[list[ExchangeBatch], int]:
    stmt = (
        select(ExchangeBatch)
        .where(ExchangeBatch.receiver == receiver)
        .options(defer(ExchangeBatch.body))
        .order_by(ExchangeBatch.created_at.desc(), ExchangeBatch.id)
    )
    if status:
        stmt = stmt.where(ExchangeBatch.status == status)
    return await paginate(session, stmt, params)
