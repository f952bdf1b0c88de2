"""Token buckets per key, shared by every web process through PostgreSQL (``rate_buckets``).

The citizen's path must stay cheap, so a request does not wait for the database to spend a
token. Each process keeps, per key, an **allowance**: tokens it may spend on its own before it
next hears from the shared bucket. It reports what it spent and learns each bucket's balance in
**one statement for all its keys** (``SYNC``, an ``INSERT … ON CONFLICT DO UPDATE … RETURNING``
whose refill is computed from the database clock), made by the request that finds either

- the last report older than ``sync_seconds`` (0.1 s): at most ten statements a second per
  process, whatever the traffic, paid by one request in each interval; or
- its key's allowance spent: one statement per ``chunk`` requests of one key at most.

A key this process has not seen yet starts with an allowance of ``chunk`` (it is not asked
first: most keys are a citizen's address or link, seen a few times), and after a report the
allowance is ``min(chunk, balance)``. So the limit holds across N processes up to a slack of
``chunk`` requests per process: no more than ``capacity + refill + chunk × N`` requests of one
key get through in any window, and exactly ``capacity + refill`` with one process
(docs/deployment.md, "Several web processes"). A bucket found empty is refused in the process
itself, without the database, until it has refilled by one token.

Keys never reach the database in clear: the row's key is an HMAC (the application's secret) of
the limiter's name and the key (an address, a link's hash, a source). ``sweep_rate_buckets``
deletes the rows of full buckets (a missing row is a full bucket).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.db import FactoryStatements, Sql, Statements
from otklik.errors import TooManyRequests

MAX_KEYS = 100_000
CHUNK = 10
SYNC_SECONDS = 0.1

# One row per key: spend what was spent here since the last report, refill by the time
# elapsed on the database clock, and return the balance. Keys sorted: two processes reporting
# the same keys lock them in the same order.
SYNC = """
    INSERT INTO rate_buckets AS b (key, tokens, capacity, rate, at, full_at)
    SELECT d.key, d.capacity - d.spent, d.capacity, d.rate, now(),
      now() + make_interval(secs => d.spent / d.rate)
    FROM unnest(CAST(:keys AS bytea[]), CAST(:spent AS float8[]), CAST(:capacity AS float8[]),
      CAST(:rate AS float8[])) AS d(key, spent, capacity, rate)
    ORDER BY d.key
    ON CONFLICT (key) DO UPDATE SET (tokens, capacity, rate, at, full_at) = (
      SELECT t, excluded.capacity, excluded.rate, now(),
        now() + make_interval(secs => (excluded.capacity - t) / excluded.rate)
      FROM (SELECT GREATEST(-excluded.capacity,
        LEAST(excluded.capacity,
          b.tokens + CAST(extract(epoch FROM now() - b.at) AS float8) * excluded.rate)
        - (excluded.capacity - excluded.tokens)) AS t) AS refilled)
    RETURNING key, tokens
"""
# A report as one row: the statement pools return the first row of a statement.
SYNC_ONE = Sql(
    f"WITH synced AS ({SYNC}) "  # noqa: S608 - a constant
    "SELECT array_agg(key) AS keys, array_agg(tokens) AS tokens FROM synced"
)


# Reports a request may wait for when its key's allowance is spent before it gets a token: a
# report lost to concurrent requests of the same key is followed by another (a full bucket
# refuses no one); only a bucket stuck this often in a row is refused.
SYNC_TRIES = 8


@dataclass(slots=True)
class _Key:
    allowance: float  # what this process may spend before it next hears from the shared bucket
    spent: int = 0  # spent here since the last report
    blocked_until: float = 0.0  # monotonic: the shared bucket was empty until then
    used_at: float = 0.0


class SharedRateLimits:
    """The keys of every limiter of one web process, reported together.

    ``statements`` gives the statement runner of the moment (the application's autocommit pool;
    a session factory's in tests); each report is one statement, in its own transaction.
    """

    def __init__(
        self,
        secret: str,
        statements: Callable[[], Statements],
        *,
        chunk: int = CHUNK,
        sync_seconds: float = SYNC_SECONDS,
    ) -> None:
        self.secret = hashlib.sha256(("rate-limit\0" + secret).encode()).digest()
        self.statements = statements
        self.chunk = chunk
        self.sync_seconds = sync_seconds
        self.keys: dict[bytes, tuple[TokenBuckets, _Key]] = {}
        self.dirty: set[bytes] = set()
        self.synced_at = -math.inf
        self.syncs = 0  # statements made (for tests and the benchmark)
        self._lock: asyncio.Lock | None = None

    def row_key(self, name: str, key: Hashable) -> bytes:
        return hmac.new(self.secret, f"{name}\0{key}".encode(), hashlib.sha256).digest()[:16]

    def limiter(self, name: str, per_minute: int, message: Callable[[int], str]) -> TokenBuckets:
        return TokenBuckets(name, per_minute, message, self)

    def forget_idle(self, now: float) -> None:
        keep: dict[bytes, tuple[TokenBuckets, _Key]] = {}
        for k, (limiter, st) in self.keys.items():
            idle = now - st.used_at >= limiter.capacity / limiter.rate
            if k in self.dirty or st.blocked_until > now or not idle:
                keep[k] = (limiter, st)
        self.keys = keep

    async def sync(self, also: bytes | None = None) -> None:
        """Report what was spent (and ask for ``also``); one statement for every key."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            entry = self.keys.get(also) if also is not None else None
            if entry is not None and entry[1].allowance >= 1:
                return  # the report this request waited for gave its key an allowance
            await self._sync(also)

    async def _sync(self, also: bytes | None) -> None:
        wanted = set(self.dirty)
        if also is not None:
            wanted.add(also)
        wanted &= self.keys.keys()
        self.dirty.clear()
        self.synced_at = time.monotonic()
        if not wanted:
            return
        keys = sorted(wanted)
        reported = [self.keys[k][1].spent for k in keys]
        for k in keys:
            self.keys[k][1].spent = 0
        limiters = [self.keys[k][0] for k in keys]
        try:
            row: Any = await self.statements().one(
                SYNC_ONE,
                {
                    "keys": keys,
                    "spent": [float(n) for n in reported],
                    "capacity": [lim.capacity for lim in limiters],
                    "rate": [lim.rate for lim in limiters],
                },
            )
        except BaseException:
            for k, n in zip(keys, reported, strict=True):  # report them next time
                self.keys[k][1].spent += n
                self.dirty.add(k)
            raise
        self.syncs += 1
        now = time.monotonic()
        for k, balance in zip(row.keys, row.tokens, strict=True):
            entry = self.keys.get(bytes(k))
            if entry is None:
                continue
            limiter, st = entry
            # spent while the statement ran comes off what the balance allows
            st.allowance = max(0.0, min(float(self.chunk), math.floor(balance)) - st.spent)
            st.blocked_until = now + (1 - balance) / limiter.rate if balance < 1 else 0.0


class TokenBuckets:
    """``per_minute`` requests per key, with bursts up to the same number, in every process.

    ``message(retry_seconds)`` is the Russian text of the 429 answer.
    """

    def __init__(
        self, name: str, per_minute: int, message: Callable[[int], str], store: SharedRateLimits
    ) -> None:
        self.name = name
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.message = message
        self.store = store
        # a key's first allowance in a process is at most a tenth of its bucket
        self.chunk = max(1, min(store.chunk, per_minute // 10))

    def _refuse(self, seconds: float) -> TooManyRequests:
        retry = max(1, math.ceil(seconds))
        return TooManyRequests(
            self.message(retry), code="rate_limited", headers={"Retry-After": str(retry)}
        )

    async def take(self, key: Hashable) -> None:
        """Spend one request of ``key``; ``TooManyRequests`` (429, Retry-After) when empty."""
        store = self.store
        now = time.monotonic()
        row_key = store.row_key(self.name, key)
        entry = store.keys.get(row_key)
        if entry is None:
            if len(store.keys) >= MAX_KEYS:
                store.forget_idle(now)
            entry = store.keys[row_key] = (self, _Key(allowance=float(self.chunk)))
        st = entry[1]
        st.used_at = now
        if st.blocked_until > now:
            raise self._refuse(st.blocked_until - now)
        for _ in range(SYNC_TRIES):
            if st.allowance >= 1:
                break
            await store.sync(row_key)
            now = time.monotonic()
            if st.blocked_until > now:
                raise self._refuse(st.blocked_until - now)
            # else the bucket had tokens, but requests waiting for the same report spent this
            # process's allowance first: the next report hands out more, a full bucket
            # refuses no one
        else:
            raise self._refuse(1 / self.rate)
        st.allowance -= 1
        st.spent += 1
        store.dirty.add(row_key)
        if now - store.synced_at >= store.sync_seconds and not (
            store._lock is not None and store._lock.locked()
        ):
            await store.sync()


def statements_of(state: Any) -> Statements:
    """The application's autocommit statement pool; a session factory's (tests) without one."""
    pool: Statements | None = getattr(state, "statements", None)
    return pool or FactoryStatements(state.sessionmaker)


def limits_of(state: Any, settings: Settings) -> SharedRateLimits:
    """The web process's shared limits, made on first use."""
    limits: SharedRateLimits | None = getattr(state, "rate_limits", None)
    if limits is None:
        limits = SharedRateLimits(
            settings.secret_key,
            lambda: statements_of(state),
            chunk=settings.rate_limit_chunk,
            sync_seconds=settings.rate_limit_sync_ms / 1000,
        )
        state.rate_limits = limits
    return limits


SWEEP = text("DELETE FROM rate_buckets WHERE full_at < now()")


async def sweep_rate_buckets(session: AsyncSession, settings: Settings) -> int:
    """Delete the rows of buckets that are full again (periodic job)."""
    result: Any = await session.execute(SWEEP)
    return int(result.rowcount or 0)
