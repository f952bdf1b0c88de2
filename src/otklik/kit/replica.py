"""Reads of cabinets, exports and open data from a streaming replica.

``OTKLIK_DATABASE_REPLICA_URL``: a second engine for the read-only pages and APIs.

The rule (docs/deployment.md, "Read replica"): a read goes to the replica when it is reachable
and has replayed the browser's last write; otherwise to the primary. After a non-GET request
whose unit of work committed, the primary's WAL position (``pg_current_wal_lsn()``, no personal
data) goes into a cookie; a later read reaches the replica only once
``pg_last_wal_replay_lsn()`` there is at least that position, so a person always sees what
they have just changed however far the replica lags.
"""

from __future__ import annotations

import logging
import re
import time

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request

from otklik.db import create_engine, to_async_url

log = logging.getLogger(__name__)

LSN_COOKIE = "otklik_lsn"
# The cookie outlives any sane lag; a replica an hour behind is broken (alert on it).
LSN_MAX_AGE = 3600
# After a failed connection the replica is left alone this long (no connect timeout per page).
RETRY_SECONDS = 10.0
APPLICATION_NAME = "otklik-replica-read"
_LSN = re.compile(r"^[0-9A-F]{1,8}/[0-9A-F]{1,8}$")
CAUGHT_UP = text("SELECT pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn)")
WRITTEN = text("SELECT pg_current_wal_lsn()::text")
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Replica:
    """The replica's engine and whether it is worth asking now. ``down_until`` is this
    process's back-off only: losing it costs one more connection attempt, nothing else."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(
            to_async_url(url),
            connect_args={"connect_timeout": 3, "application_name": APPLICATION_NAME},
        )
        self.factory = async_sessionmaker(
            self.engine, expire_on_commit=False, info={"replica": True}
        )
        self.down_until = 0.0

    async def session_for(self, written: str | None) -> AsyncSession | None:
        """A session on the replica if it is reachable and has replayed ``written`` (the
        browser's last write), else None: the caller reads the primary."""
        if time.monotonic() < self.down_until:
            return None
        session = self.factory()
        try:
            if written is None:
                await session.connection()  # the pool's ping: is the replica there at all
                return session
            if await session.scalar(CAUGHT_UP, {"lsn": written}):
                return session
        except (OSError, DBAPIError) as exc:
            self.down_until = time.monotonic() + RETRY_SECONDS
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[:1]
            log.warning(
                "read replica unavailable, reading from the primary for %.0f s: %s",
                RETRY_SECONDS,
                reason[0] if reason else type(exc).__name__,
            )
        await session.close()
        return None

    async def dispose(self) -> None:
        await self.engine.dispose()


def is_replica(session: AsyncSession) -> bool:
    """Whether the session reads the replica (no locks, no writes there)."""
    return bool(session.info.get("replica"))


def replica_of(request: Request) -> Replica | None:
    replica: Replica | None = getattr(request.app.state, "replica", None)
    return replica


def written_lsn(request: Request) -> str | None:
    """The WAL position of this browser's last write (a malformed cookie counts as none)."""
    value = request.cookies.get(LSN_COOKIE, "")
    return value if _LSN.match(value) else None


async def remember_write(request: Request, session: AsyncSession, secure: bool) -> None:
    """After a committed write: the primary's WAL position, for the response's cookie
    (``SecurityHeaders`` sends ``state.set_cookie``)."""
    try:
        async with session:
            lsn = await session.scalar(WRITTEN)
    except (OSError, DBAPIError) as exc:  # committed already: never turn that into an error
        log.warning("WAL position after a write unknown (no read-your-writes cookie): %s", exc)
        return
    cookie = f"{LSN_COOKIE}={lsn}; Max-Age={LSN_MAX_AGE}; Path=/; HttpOnly; SameSite=lax"
    request.state.set_cookie = [cookie + ("; Secure" if secure else "")]
