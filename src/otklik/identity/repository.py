"""Every identity query."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.models import ApiToken, AuditEntry, LoginAttempt, User, UserSession
from otklik.kit.pagination import Page, PageParams, like_pattern, paginate


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email.strip().lower()))


async def user_for_session(session: AsyncSession, token_hash: str, now: datetime) -> User | None:
    stmt = (
        select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.token_hash == token_hash, UserSession.expires_at > now, User.is_active)
    )
    return await session.scalar(stmt)


async def delete_session(session: AsyncSession, token_hash: str) -> None:
    await session.execute(delete(UserSession).where(UserSession.token_hash == token_hash))


async def user_for_api_token(session: AsyncSession, token_hash: str, now: datetime) -> User | None:
    stmt = (
        update(ApiToken)
        .where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
        .values(last_used_at=now)
        .returning(ApiToken.user_id)
    )
    user_id = await session.scalar(stmt)
    if user_id is None:
        return None
    return await session.scalar(select(User).where(User.id == user_id, User.is_active))


async def count_failures(
    session: AsyncSession, key_hash: str, client: str, since: datetime
) -> tuple[int, int, int]:
    """Failures since ``since`` for the (account, client) pair, the account and the client.

    Holds a transaction-level lock on the account first, so concurrent sign-ins to one
    account are counted one after another (the lock ends with the request's transaction).
    """
    await session.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended("login:" + key_hash, 0)))
    )
    by_key = LoginAttempt.key_hash == key_hash
    by_client = LoginAttempt.client == client
    stmt = select(
        func.count().filter(by_key, by_client),
        func.count().filter(by_key),
        func.count().filter(by_client),
    ).where(LoginAttempt.at > since, or_(by_key, by_client))
    row = (await session.execute(stmt)).one()
    return int(row[0]), int(row[1]), int(row[2])


async def clear_failures(session: AsyncSession, key_hash: str) -> None:
    await session.execute(delete(LoginAttempt).where(LoginAttempt.key_hash == key_hash))


async def purge_expired(session: AsyncSession, now: datetime, attempts_before: datetime) -> int:
    a = await session.execute(delete(UserSession).where(UserSession.expires_at <= now))
    b = await session.execute(delete(LoginAttempt).where(LoginAttempt.at < attempts_before))
    return int(a.rowcount or 0) + int(b.rowcount or 0)  # type: ignore[attr-defined]


async def list_tokens(session: AsyncSession, user_id: int) -> Sequence[ApiToken]:
    stmt = select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at.desc())
    return (await session.scalars(stmt)).all()


async def list_users(session: AsyncSession, params: PageParams) -> Page[User]:
    stmt = select(User).order_by(User.email)
    if params.q:
        stmt = stmt.where(User.email.ilike(like_pattern(params.q)))
    items, total = await paginate(session, stmt, params)
    return Page(items, total, params)


async def list_audit(
    session: AsyncSession, params: PageParams, *, entity: str = ""
) -> Page[AuditEntry]:
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    if entity:
        stmt = stmt.where(AuditEntry.entity == entity)
    if params.q:
        pat = like_pattern(params.q)
        stmt = stmt.where(or_(AuditEntry.actor_label.ilike(pat), AuditEntry.entity_id.ilike(pat)))
    items, total = await paginate(session, stmt, params)
    return Page(items, total, params)


async def rekey_users(session: AsyncSession) -> int:
    """Old → new person key from the temporary table ``pii_rekey`` (``otklik keys rotate-pii``);
    the rows changed."""
    result = await session.execute(
        text("UPDATE users t SET person_key = m.new FROM pii_rekey m WHERE t.person_key = m.old")
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
