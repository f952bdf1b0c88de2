"""Sign-in throttling: per (account, client) pair, atomic under concurrency, a high lock bar."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.app import create_app
from otklik.config import Settings
from otklik.db import create_engine, session_factory, transaction
from otklik.identity.models import LoginAttempt, User
from otklik.identity.roles import Role
from tests.factories import create_user, csrf_from, login


def _client(app: FastAPI, host: str) -> AsyncClient:
    transport = ASGITransport(app=app, raise_app_exceptions=False, client=(host, 40000))
    return AsyncClient(transport=transport, base_url="http://testserver")


async def test_throttle_is_per_account_and_client_pair(
    session: AsyncSession, app: FastAPI, client: AsyncClient
) -> None:
    user = await create_user(session, Role.analyst)
    for _ in range(5):
        assert await login(client, user.email, "wrong password") == 400
    assert await login(client, user.email) == 429  # this client is throttled for this account
    async with _client(app, "203.0.113.9") as other:
        assert await login(other, user.email) == 303  # the owner elsewhere is not locked out


async def test_an_account_locks_for_everyone_only_at_the_high_bar(
    session: AsyncSession, app: FastAPI, settings: Settings
) -> None:
    app.state.settings = settings.model_copy(update={"login_lock_failures": 8})
    user = await create_user(session, Role.analyst)
    for host in ("203.0.113.1", "203.0.113.2"):
        async with _client(app, host) as c:
            for _ in range(4):
                assert await login(c, user.email, "wrong password") == 400
    async with _client(app, "203.0.113.3") as c:
        assert await login(c, user.email) == 429


@pytest.fixture
async def committed(database_url: str, settings: Settings) -> AsyncIterator[tuple[FastAPI, str]]:
    """An application on its own pool (real concurrent transactions) and a committed user."""
    engine = create_engine(database_url)
    factory = session_factory(engine)
    async with transaction(factory) as s:
        user = await create_user(s, Role.analyst, email="concurrent-login@example.test")
    app = create_app(settings)
    app.state.sessionmaker = factory
    yield app, user.email
    async with transaction(factory) as s:
        await s.execute(delete(LoginAttempt))
        await s.execute(delete(User).where(User.id == user.id))
    await engine.dispose()


async def test_parallel_guesses_get_no_more_tries(committed: tuple[FastAPI, str]) -> None:
    app, email = committed
    async with _client(app, "198.51.100.7") as c:
        csrf = csrf_from((await c.get("/login")).text)

        async def guess() -> int:
            data = {"csrf_token": csrf, "email": email, "password": "wrong password"}
            return (await c.post("/login", data=data)).status_code

        codes = await asyncio.gather(*(guess() for _ in range(30)))
    assert sorted(codes).count(400) == 5, codes
    assert codes.count(429) == 25, codes
