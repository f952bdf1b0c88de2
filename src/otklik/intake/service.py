"""Information systems: registration, API keys (hash only), rotation with a grace period."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import NotFound, ValidationFailed
from otklik.identity.audit import Actor, record_audit
from otklik.identity.security import new_token, token_hash
from otklik.intake import repository
from otklik.intake.models import Source

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{1,99}$")
KEY_PREFIX = "otks_"


async def create_source(session: AsyncSession, actor: Actor, name: str) -> tuple[Source, str]:
    """Register an information system; returns it and its API key (shown once)."""
    if not NAME_RE.match(name):
        raise ValidationFailed(
            "Имя источника: 2–100 символов, латинские буквы, цифры, точка, дефис, подчёркивание."
        )
    if await repository.get_source_by_name(session, name) is not None:
        raise ValidationFailed("Источник с таким именем уже есть.", code="duplicate")
    key = new_token(KEY_PREFIX)
    source = Source(name=name, key_hash=token_hash(key), key_prefix=key[:10])
    session.add(source)
    await session.flush()
    await record_audit(session, actor, "create", "source", name, None, {"key_prefix": key[:10]})
    return source, key


async def rotate_key(
    session: AsyncSession, actor: Actor, name: str, grace: timedelta = timedelta(days=7)
) -> str:
    """Issue a new key; the old one keeps working for ``grace``."""
    source = await repository.get_source_by_name(session, name)
    if source is None:
        raise NotFound("Источник не найден.")
    key = new_token(KEY_PREFIX)
    before = {"key_prefix": source.key_prefix}
    source.previous_key_hash = source.key_hash
    source.previous_key_expires_at = datetime.now(UTC) + grace
    source.key_hash, source.key_prefix = token_hash(key), key[:10]
    await session.flush()
    await record_audit(
        session, actor, "rotate_key", "source", name, before, {"key_prefix": key[:10]}
    )
    return key


async def set_active(session: AsyncSession, actor: Actor, name: str, active: bool) -> Source:
    source = await repository.get_source_by_name(session, name)
    if source is None:
        raise NotFound("Источник не найден.")
    before = {"is_active": source.is_active}
    source.is_active = active
    await session.flush()
    await record_audit(session, actor, "update", "source", name, before, {"is_active": active})
    return source


async def authenticate_source(session: AsyncSession, key: str) -> Source | None:
    return await repository.source_for_key(session, token_hash(key), datetime.now(UTC))
