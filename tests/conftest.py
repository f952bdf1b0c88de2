"""Test database: a real PostgreSQL, migrated once per run; each test rolls back."""

from __future__ import annotations

import copy
import io
import logging
import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import time_machine
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from otklik.app import create_app
from otklik.config import Settings
from otklik.db import create_engine, start_embedded, to_async_url, to_libpq_url, transaction
from otklik.kit import logs
from otklik.migrate import upgrade
from otklik.registry.reference import seed_reference
from otklik.registry.service import seed_catalogue

ROOT = Path(__file__).resolve().parents[1]
# ``make test-clock``: the whole run at a chosen instant (UTC, ISO 8601), Python and PostgreSQL.
FROZEN_AT = os.environ.get("OTKLIK_FROZEN_AT")


# The whole run's log through the production handler (JSON, redacting), scanned at the end for
# what must never reach a log (issue 21): a link token, SNILS, an e-mail address, a phone.
SUITE_LOG = io.StringIO()
LEAKS = {
    "link token": re.compile(r"/s/[A-Za-z0-9_-]{16,}"),
    # a bare token or key: 24+ URL-safe characters mixing letters and digits
    "token": re.compile(r"(?<![\w-])(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z0-9_-]{24,}(?![\w-])"),
    "SNILS": re.compile(r"\b\d{3}-\d{3}-\d{3}[ -]\d{2}\b"),
    "e-mail": re.compile(r"[\w.+-]+@[A-Za-z][\w-]*\.[A-Za-z]{2,}"),
    "phone": re.compile(r"\+7\d{10}\b"),
}


class _CopyingHandler(logging.Handler):
    """The production handler on a copy of each record: its redaction rewrites the record,
    which the other handlers (a test's own capture, pytest's) must still see as it was."""

    def __init__(self, inner: logging.Handler) -> None:
        super().__init__(logging.INFO)
        self.inner = inner
        self.set_name("otklik-suite-scan")  # ``logs.configure`` replaces only its own handler

    def emit(self, record: logging.LogRecord) -> None:
        self.inner.handle(copy.copy(record))


def pytest_configure(config: pytest.Config) -> None:
    if FROZEN_AT:
        # tick: the clock starts at FROZEN_AT and runs on, so timeouts and sleeps still work
        time_machine.travel(datetime.fromisoformat(FROZEN_AT), tick=True).start()
    handler = _CopyingHandler(logs.make_handler(SUITE_LOG))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(min(root.level, logging.INFO) or logging.INFO)
    for name in ("sqlalchemy", "alembic", "httpx", "pymorphy3", "natasha", "faker"):
        logging.getLogger(name).setLevel(logging.WARNING)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any line the production handler wrote holds personal data."""
    lines = SUITE_LOG.getvalue().splitlines()
    found = [
        (kind, line[:300])
        for line in lines
        for kind, pattern in LEAKS.items()
        if pattern.search(line)
    ]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            f"log scan: {len(lines)} log lines of the run, {len(found)} with personal data"
        )
        for kind, line in found[:20]:
            reporter.write_line(f"  {kind}: {line}")
    if found:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _set_database_clock(conn: psycopg.Connection[Any], database: str) -> None:
    """Give the database the tests' clock: ``now()`` resolves to ``public.now()`` (search_path
    puts public before pg_catalog), which adds the offset of the frozen clock; the column
    defaults created by the migrations then use it too. Without a frozen clock: the real one."""
    if not FROZEN_AT:
        conn.execute(f'ALTER DATABASE "{database}" RESET search_path')
        return
    real = conn.execute("SELECT pg_catalog.now()").fetchone()
    assert real is not None
    offset = datetime.now(UTC) - real[0]
    seconds = round(offset.total_seconds(), 3)
    conn.execute(
        "CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE sql STABLE AS "
        f"$$ SELECT pg_catalog.now() + interval '{seconds} seconds' $$"
    )
    conn.execute(f'ALTER DATABASE "{database}" SET search_path = public, pg_catalog')


def _base_url() -> str:
    url = os.environ.get("OTKLIK_TEST_DATABASE_URL")
    if url:
        return url
    return start_embedded(ROOT / ".otklik-test" / "pgdata", database="otklik_test")


@pytest.fixture(scope="session")
def database_url() -> str:
    """A clean, migrated database with the built-in reference data."""
    url = _base_url()
    with psycopg.connect(to_libpq_url(url), autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")
        _set_database_clock(conn, str(make_url(url).database))
    upgrade(to_async_url(url))
    return to_async_url(url)


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    async with transaction(async_sessionmaker(engine)) as session:
        await seed_reference(session)
        await seed_catalogue(session)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        outer = await conn.begin()
        yield conn
        await outer.rollback()


@pytest.fixture
def sessionmaker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """Sessions whose commits become savepoints inside the test's transaction."""
    return async_sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as s:
        yield s


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # no quiet hours: tests pass at any hour; quiet-hours tests pass their own ``now``
    return Settings(
        env="test",
        data_dir=tmp_path,
        secret_key="t" * 40,
        pii_key="p" * 40,
        quiet_hours_start=0,
        quiet_hours_end=0,
        opendata_requests_per_minute=100_000,  # the matrix asks every public route per role
    )


@pytest.fixture
def app(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> FastAPI:
    app = create_app(settings)
    app.state.sessionmaker = sessionmaker
    return app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
