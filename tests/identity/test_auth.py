"""Sign-in, CSRF, throttling, sessions, personal tokens, roles and the audit log."""

from __future__ import annotations

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import ValidationFailed
from otklik.identity.models import ApiToken, AuditEntry
from otklik.identity.roles import Role
from otklik.identity.service import create_api_token
from tests.factories import PASSWORD, create_user, csrf_from, login


async def test_login_lands_in_cabinet_and_logout_ends_session(
    session: AsyncSession, client: AsyncClient
) -> None:
    user = await create_user(session, Role.coordinator)
    assert await login(client, user.email) == 303
    cabinet = await client.get("/cabinet")
    assert cabinet.status_code == 200
    assert "Личный кабинет" in cabinet.text
    old_cookie = client.cookies.get("otklik_session")
    await client.post("/logout", data={"csrf_token": csrf_from(cabinet.text)})
    assert (await client.get("/cabinet")).status_code == 303
    client.cookies.set("otklik_session", old_cookie or "")
    assert (await client.get("/cabinet")).status_code == 303, "old session must be dead"


async def test_unknown_user_and_wrong_password_look_the_same(
    session: AsyncSession, client: AsyncClient
) -> None:
    user = await create_user(session, Role.analyst)
    page = await client.get("/login")
    token = csrf_from(page.text)
    wrong = await client.post(
        "/login", data={"csrf_token": token, "email": user.email, "password": "not the password"}
    )
    unknown = await client.post(
        "/login", data={"csrf_token": token, "email": "ghost@example.test", "password": PASSWORD}
    )
    assert wrong.status_code == unknown.status_code == 400
    msg = "Неверный адрес электронной почты или пароль."
    assert msg in wrong.text
    assert msg in unknown.text


async def test_missing_or_forged_csrf_is_refused(
    session: AsyncSession, client: AsyncClient
) -> None:
    user = await create_user(session, Role.analyst)
    await client.get("/login")
    resp = await client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert resp.status_code == 403
    assert "Форма устарела" in resp.text
    resp = await client.post(
        "/login", data={"csrf_token": "0" * 64, "email": user.email, "password": PASSWORD}
    )
    assert resp.status_code == 403
    assert "otklik_session" not in client.cookies


async def test_repeated_failures_are_throttled(session: AsyncSession, client: AsyncClient) -> None:
    user = await create_user(session, Role.analyst)
    for _ in range(5):
        assert await login(client, user.email, "wrong password") == 400
    # even the right password is refused while the account is throttled
    assert await login(client, user.email) == 429


async def test_personal_api_token(session: AsyncSession, client: AsyncClient) -> None:
    user = await create_user(session, Role.coordinator)
    await login(client, user.email)
    page = await client.get("/cabinet/tokens")
    created = await client.post(
        "/cabinet/tokens", data={"csrf_token": csrf_from(page.text), "name": "отчёты"}
    )
    token = created.text.split('class="token">')[1].split("<")[0]
    client.cookies.clear()
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["email"] == user.email
    stored = (await session.execute(text("SELECT token_hash FROM api_tokens"))).scalars().all()
    assert token not in stored, "only the hash may be stored"
    bad = await client.get("/api/v1/me", headers={"Authorization": "Bearer otk_nope"})
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "invalid_token"


async def test_another_users_token_is_not_found_nor_offered(
    session: AsyncSession, client: AsyncClient
) -> None:
    owner = await create_user(session, Role.coordinator)
    theirs = await create_api_token(session, owner, "чужой")
    their_id = await session.scalar(select(ApiToken.id).where(ApiToken.prefix == theirs[:10]))
    me = await create_user(session, Role.coordinator)
    await login(client, me.email)
    page = await client.get("/cabinet/tokens")
    assert f"/cabinet/tokens/{their_id}/revoke" not in page.text
    assert "чужой" not in page.text
    resp = await client.post(
        f"/cabinet/tokens/{their_id}/revoke", data={"csrf_token": csrf_from(page.text)}
    )
    assert resp.status_code == 404
    missing = await client.post(
        "/cabinet/tokens/999999999/revoke", data={"csrf_token": csrf_from(page.text)}
    )
    assert missing.status_code == 404
    token = await session.get(ApiToken, their_id)
    assert token is not None
    await session.refresh(token)
    assert token.revoked_at is None


async def test_admin_pages_need_admin(session: AsyncSession, client: AsyncClient) -> None:
    user = await create_user(session, Role.coordinator)
    await login(client, user.email)
    for path in ("/admin/audit", "/admin/users", "/admin/sources", "/admin/jobs"):
        resp = await client.get(path)
        assert resp.status_code == 403
        assert "Доступ запрещён" in resp.text


async def test_anonymous_is_sent_to_login(client: AsyncClient) -> None:
    resp = await client.get("/registry/organizations?q=x")
    assert resp.status_code == 303
    assert resp.headers["location"].startswith("/login?next=/registry/organizations")
    assert (await client.get("/api/v1/organizations")).status_code == 401


async def test_open_redirect_is_refused(session: AsyncSession, client: AsyncClient) -> None:
    user = await create_user(session, Role.analyst)
    page = await client.get("/login")
    resp = await client.post(
        "/login",
        data={
            "csrf_token": csrf_from(page.text),
            "email": user.email,
            "password": PASSWORD,
            "next": "//evil.example/",
        },
    )
    assert resp.headers["location"] == "/cabinet"


async def test_scope_must_fit_role(session: AsyncSession) -> None:
    with pytest.raises(ValidationFailed):
        await create_user(session, Role.organization, "country")
    with pytest.raises(ValidationFailed):
        await create_user(session, Role.regional_authority, "region:99")


async def test_audit_log_records_and_is_append_only(session: AsyncSession) -> None:
    before = await session.scalar(select(func.count()).select_from(AuditEntry))
    await create_user(session, Role.analyst)
    assert await session.scalar(select(func.count()).select_from(AuditEntry)) == (before or 0) + 1
    for stmt in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with session.begin_nested():
                await session.execute(text(stmt))
