"""Every intake query (information systems for now)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.intake.models import Source


async def get_source_by_name(session: AsyncSession, name: str) -> Source | None:
    return await session.scalar(select(Source).where(Source.name == name))


async def source_for_key(session: AsyncSession, key_hash: str, now: datetime) -> Source | None:
    stmt = select(Source).where(
        Source.is_active,
        or_(
            Source.key_hash == key_hash,
            and_(Source.previous_key_hash == key_hash, Source.previous_key_expires_at > now),
        ),
    )
    return await session.scalar(stmt)


async def list_sources(session: AsyncSession) -> Sequence[Source]:
    return (await session.scalars(select(Source).order_by(Source.name))).all()
