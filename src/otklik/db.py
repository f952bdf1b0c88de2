"""Database engine, sessions and the embedded PostgreSQL used when no URL is configured."""

from __future__ import annotations

import asyncio
import logging
import re
import subprocess
import sys
import warnings
from collections import namedtuple
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from otklik.config import Settings

log = logging.getLogger(__name__)

_embedded: dict[Path, Any] = {}


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or started; the message is for an operator."""


def start_embedded(pgdata: Path, database: str = "otklik") -> str:
    """Start (or reuse) a private PostgreSQL in ``pgdata`` and return a libpq URL.

    The data survives restarts; the server stops when the last process using it exits.
    """
    pgdata = pgdata.resolve()
    if pgdata not in _embedded:
        pgdata.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
            import pgserver

            try:
                server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
            except Exception as exc:
                raise DatabaseUnavailable(
                    f"could not start the embedded PostgreSQL in {pgdata}: {exc}. "
                    "Its log is in the 'log' file of that folder."
                ) from exc
        _start_watchdog(pgdata)
        if not database.isidentifier():
            raise DatabaseUnavailable(f"bad embedded database name: {database!r}")
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # noqa: S608
        if "(1 row)" not in exists:
            server.psql(f'CREATE DATABASE "{database}";')
        _embedded[pgdata] = server
    uri: str = _embedded[pgdata].get_uri(database)
    return uri


def _start_watchdog(pgdata: Path) -> None:
    """A detached process that stops the server once no process uses it (``otklik.pgwatch``)."""
    subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "otklik.pgwatch", str(pgdata)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop_embedded() -> None:
    """Stop embedded servers started by this process (also done at interpreter exit)."""
    for server in _embedded.values():
        server.cleanup()
    _embedded.clear()


def to_async_url(url: str) -> str:
    """Normalise any PostgreSQL URL to the psycopg 3 async driver SQLAlchemy expects."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def to_libpq_url(url: str) -> str:
    """A plain ``postgresql://`` URL for psycopg / libpq (COPY, psql)."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def resolve_database_url(settings: Settings) -> str:
    if settings.database_url:
        return to_async_url(settings.database_url)
    return to_async_url(start_embedded(settings.data_dir / "pgdata"))


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    # hide_parameters: statement parameters never reach error messages or logs.
    return create_async_engine(url, pool_pre_ping=True, hide_parameters=True, **kwargs)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


@asynccontextmanager
async def transaction(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """The unit of work: commit on success, roll back on any error. Services only flush."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


# --- one statement per unit of work, without the ORM (the respondent form's hot path) ---

_PARAM = re.compile(r"(?<![:\w]):(\w+)")


class Sql:
    """One statement in both spellings: SQLAlchemy ``text`` (``:name``) for a session and
    psycopg's ``%(name)s`` for ``StatementPool``, converted once."""

    __slots__ = ("_make", "clause", "raw")

    def __init__(self, sql: str) -> None:
        self.clause = text(sql)
        self.raw = _PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))
        self._make: Any = None

    def named(self, cursor: Any, row: tuple[Any, ...]) -> Any:
        """``row`` (a plain tuple of this statement's result) as a named tuple; the class is
        made from the first result and kept (the statement's columns never change)."""
        make = self._make
        if make is None:
            make = self._make = _named_row(cursor)
        return make(row)


class Statements(Protocol):
    """Runs single statements; each is its own unit of work unless said otherwise."""

    async def one(self, sql: Sql, params: dict[str, Any]) -> Any | None: ...


class SessionStatements:
    """Statements inside the caller's session (and its transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def one(self, sql: Sql, params: dict[str, Any]) -> Any | None:
        return (await self.session.execute(sql.clause, params)).first()


class FactoryStatements:
    """Each statement in a transaction of its own from a session factory (tests and tools
    whose application was given a session factory instead of a database URL)."""

    def __init__(self, factory: async_sessionmaker[AsyncSession]) -> None:
        self.factory = factory

    async def one(self, sql: Sql, params: dict[str, Any]) -> Any | None:
        async with transaction(self.factory) as session:
            return (await session.execute(sql.clause, params)).first()


async def refresh_statistics(session: AsyncSession) -> None:
    """ANALYZE every table: after a bulk load (the demo's seeding) the planner's statistics
    still describe empty tables until autovacuum catches up, and the first page of an
    organization was planned for them (53 s for the first request of the 200-organization
    demo; 1.5 s after ANALYZE)."""
    await session.execute(text("ANALYZE"))


@lru_cache(maxsize=256)
def _row_class(names: tuple[str, ...]) -> Any:
    return namedtuple("Row", names)


def _named_row(cursor: Any) -> Any:
    """Rows as named tuples, the class made once per column list (psycopg's own
    ``namedtuple_row`` builds the cursor's column descriptions for every statement)."""
    result = cursor.pgresult
    if result is None or not result.nfields:
        return tuple
    names = tuple(result.fname(i).decode() for i in range(result.nfields))
    return _row_class(names)._make


class StatementPool:
    """Autocommit psycopg connections: a statement is one round trip (no BEGIN, COMMIT or
    pre-ping) and no ORM work; psycopg prepares a statement after its fifth use. A
    connection that fails is dropped and the statement runs once more on a fresh one, so a
    restarted database costs no failed request: only statements that are safe to repeat
    (their effect guarded by their own condition) belong here."""

    def __init__(self, url: str, size: int = 10) -> None:
        self.url = to_libpq_url(url)
        self.size = size
        # each connection with the one cursor its statements run on (made once, not per call)
        self.idle: list[psycopg.AsyncCursor[Any]] = []
        self.open = 0
        self.waiting = 0
        self.freed = asyncio.Condition()

    async def _take(self) -> psycopg.AsyncCursor[Any]:
        if self.idle:  # the usual case: no lock to take
            return self.idle.pop()
        async with self.freed:
            while not self.idle and self.open >= self.size:
                self.waiting += 1
                try:
                    await self.freed.wait()
                finally:
                    self.waiting -= 1
            if self.idle:
                return self.idle.pop()
            self.open += 1
        try:
            conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        except BaseException:
            await self._release(None)
            raise
        return conn.cursor()

    async def _release(self, cur: psycopg.AsyncCursor[Any] | None) -> None:
        if cur is None:
            self.open -= 1
        else:
            self.idle.append(cur)
        if self.waiting:  # only when every connection was busy
            async with self.freed:
                self.freed.notify()

    async def one(self, sql: Sql, params: dict[str, Any]) -> Any | None:
        for attempt in (1, 2):
            cur = await self._take()
            conn = cur.connection
            try:
                await cur.execute(sql.raw, params)
                result = cur.pgresult
                row = await cur.fetchone() if result is not None and result.nfields else None
                if row is not None:
                    row = sql.named(cur, row)
            except psycopg.OperationalError:
                await conn.close()
                await self._release(None)
                if attempt == 1:
                    continue
                raise
            except BaseException:
                if conn.info.transaction_status != TransactionStatus.IDLE:
                    await conn.close()
                    await self._release(None)
                else:
                    await self._release(cur)
                raise
            await self._release(cur)
            return row
        return None  # unreachable: the second attempt returns or raises

    async def close(self) -> None:
        for cur in self.idle:
            await cur.connection.close()
        self.idle.clear()
