"""Accounts, sign-in with throttling, sessions, personal API tokens and scopes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.errors import NotFound, TooManyRequests, ValidationFailed
from otklik.identity import repository
from otklik.identity.audit import Actor, record_audit
from otklik.identity.models import ApiToken, LoginAttempt, User, UserSession
from otklik.identity.roles import ROLE_SCOPES, Role
from otklik.identity.security import (
    hash_password,
    keyed_hash,
    new_token,
    token_hash,
    verify_password,
)
from otklik.kit.clock import now_utc
from otklik.kit.scope import Scope, ScopeKind
from otklik.registry.models import Founder, Organization, Region

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$")
MIN_PASSWORD = 10


def scope_of(user: User) -> Scope:
    return Scope(
        ScopeKind(user.scope_kind),
        organization_id=user.scope_organization_id,
        region_code=user.scope_region_code,
        founder_id=user.scope_founder_id,
    )


@dataclass(frozen=True)
class ScopeTarget:
    kind: ScopeKind
    organization_id: int | None = None
    region_code: str | None = None
    founder_id: int | None = None


async def resolve_scope(session: AsyncSession, role: Role, spec: str | None) -> ScopeTarget:
    """Turn ``organization:<ОГРН>``, ``region:<код>``, ``founder:<код>``, ``country`` into ids."""
    allowed = ROLE_SCOPES[role]
    kind_s, _, value = (spec or allowed[0].value).partition(":")
    try:
        kind = ScopeKind(kind_s)
    except ValueError as exc:
        raise ValidationFailed(f"Неизвестный вид области доступа: {kind_s}.") from exc
    if kind not in allowed:
        names = ", ".join(k.value for k in allowed)
        raise ValidationFailed(f"Роль {role.value} допускает только область: {names}.")
    if kind is ScopeKind.organization:
        org_id = await session.scalar(select(Organization.id).where(Organization.ogrn == value))
        if org_id is None:
            raise ValidationFailed("Организация с таким ОГРН не найдена.")
        return ScopeTarget(kind, organization_id=org_id)
    if kind is ScopeKind.region:
        if await session.get(Region, value) is None:
            raise ValidationFailed("Субъект РФ с таким кодом не найден.")
        return ScopeTarget(kind, region_code=value)
    if kind is ScopeKind.founder:
        founder_id = await session.scalar(select(Founder.id).where(Founder.code == value))
        if founder_id is None:
            raise ValidationFailed("Учредитель с таким кодом не найден.")
        return ScopeTarget(kind, founder_id=founder_id)
    return ScopeTarget(kind)


async def create_user(
    session: AsyncSession,
    actor: Actor,
    *,
    email: str,
    role: Role,
    scope: str | None,
    password: str | None,
    full_name: str = "",
) -> User:
    """Create an account; the password may be absent (the user cannot sign in until set)."""
    email = email.strip().lower()
    if not EMAIL_RE.match(email):
        raise ValidationFailed("Некорректный адрес электронной почты.")
    if password is not None and len(password) < MIN_PASSWORD:
        raise ValidationFailed(f"Пароль должен быть не короче {MIN_PASSWORD} символов.")
    if await repository.get_user_by_email(session, email) is not None:
        raise ValidationFailed("Пользователь с таким адресом уже есть.", code="duplicate")
    target = await resolve_scope(session, role, scope)
    user = User(
        email=email,
        full_name=full_name,
        password_hash=hash_password(password) if password else None,
        role=role.value,
        scope_kind=target.kind.value,
        scope_organization_id=target.organization_id,
        scope_region_code=target.region_code,
        scope_founder_id=target.founder_id,
    )
    session.add(user)
    await session.flush()
    after = {"email": email, "role": role.value, "scope": scope or target.kind.value}
    await record_audit(session, actor, "create", "user", str(user.id), None, after)
    return user


async def authenticate(
    session: AsyncSession, settings: Settings, email: str, password: str, client: str
) -> User | None:
    """Check a password, throttling repeated failures per (account, client) pair.

    A client is throttled after ``login_max_failures`` failures on one account or four times
    that over all accounts; an account is locked for everyone only after the much higher
    ``login_lock_failures`` (so nobody can lock out somebody else with a few guesses).
    Concurrent attempts on one account are counted one after another (a database lock).
    Unknown user and wrong password give the same answer and take the same time.
    """
    key = keyed_hash(settings.secret_key, "login:" + email.strip().lower())
    since = now_utc() - timedelta(minutes=settings.login_window_minutes)
    by_pair, by_key, by_client = await repository.count_failures(session, key, client, since)
    if (
        by_pair >= settings.login_max_failures
        or by_client >= settings.login_max_failures * 4
        or by_key >= settings.login_lock_failures
    ):
        raise TooManyRequests(
            f"Слишком много неудачных попыток входа. Повторите через "
            f"{settings.login_window_minutes} минут."
        )
    user = await repository.get_user_by_email(session, email)
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        session.add(LoginAttempt(key_hash=key, client=client))
        await session.flush()
        return None
    await repository.clear_failures(session, key)
    user.last_login_at = now_utc()
    return user


async def start_session(session: AsyncSession, settings: Settings, user: User) -> str:
    token = new_token()
    session.add(
        UserSession(
            token_hash=token_hash(token),
            user_id=user.id,
            expires_at=now_utc() + timedelta(hours=settings.session_hours),
        )
    )
    await session.flush()
    return token


async def end_session(session: AsyncSession, token: str) -> None:
    await repository.delete_session(session, token_hash(token))


async def create_api_token(session: AsyncSession, user: User, name: str) -> str:
    """Issue a personal API token; it is shown once, only its hash is kept."""
    name = name.strip()[:100] or "API"
    token = new_token("otk_")
    session.add(
        ApiToken(user_id=user.id, name=name, token_hash=token_hash(token), prefix=token[:10])
    )
    await session.flush()
    actor = Actor(user.id, user.email)
    await record_audit(session, actor, "create", "api_token", token[:10], None, {"name": name})
    return token


async def revoke_api_token(session: AsyncSession, user: User, token_id: int) -> bool:
    """Revoke one of the user's own tokens; another user's token is "not found" (404)."""
    token = await session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound("Токен не найден.")
    if token.revoked_at is not None:
        return False
    token.revoked_at = now_utc()
    await session.flush()
    actor = Actor(user.id, user.email)
    await record_audit(
        session, actor, "revoke", "api_token", token.prefix, {"revoked": False}, {"revoked": True}
    )
    return True


async def purge_expired(session: AsyncSession, settings: Settings) -> int:
    """Periodic: drop expired sessions and old failed-login records."""
    now = now_utc()
    return await repository.purge_expired(
        session, now, now - timedelta(minutes=settings.login_window_minutes * 4)
    )
