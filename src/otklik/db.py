"""Database engine, sessions and the embedded PostgreSQL used when no URL is configured."""

from __future__ import annotations

import logging
import subprocess
import sys
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import make_url
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
