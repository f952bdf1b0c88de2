"""Rate limits shared by web processes through PostgreSQL (``rate_buckets``).

Two stores with their own connection pools stand for two web processes: they share nothing
but the database, as two processes on two hosts would.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg
import pytest
from httpx import AsyncClient
from sqlalchemy import event, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from otklik.config import Settings
from otklik.db import StatementPool, to_libpq_url
from otklik.errors import TooManyRequests
from otklik.kit.ratelimit import SharedRateLimits, TokenBuckets, sweep_rate_buckets


def _message(retry: int) -> str:
    return f"Слишком много запросов. Подождите {retry} с."


@pytest.fixture
async def pools(database_url: str) -> AsyncIterator[list[StatementPool]]:
    made = [StatementPool(database_url, size=2) for _ in range(2)]
    yield made
    for pool in made:
        await pool.close()


@pytest.fixture
def name(database_url: str) -> Iterator[str]:
    """A limiter name of this test only; its committed rows are deleted afterwards."""
    name = f"test.{secrets.token_hex(4)}"
    yield name
    with psycopg.connect(to_libpq_url(database_url), autocommit=True) as conn:
        conn.execute("DELETE FROM rate_buckets")


def _store(pool: StatementPool, chunk: int = 5, sync_seconds: float = 0.1) -> SharedRateLimits:
    return SharedRateLimits("s" * 40, lambda: pool, chunk=chunk, sync_seconds=sync_seconds)


async def _hammer(limiter: TokenBuckets, key: str, tries: int) -> int:
    passed = 0
    for _ in range(tries):
        try:
            await limiter.take(key)
            passed += 1
        except TooManyRequests:
            pass
        await asyncio.sleep(random.random() * 0.002)  # interleaving, not secrecy
    return passed


async def test_two_processes_together_keep_the_limit_up_to_the_documented_slack(
    pools: list[StatementPool], name: str
) -> None:
    per_minute, chunk = 60, 5  # a bucket of 60, one token a second
    stores = [_store(pool, chunk=chunk) for pool in pools]
    limiters = [s.limiter(name, per_minute, _message) for s in stores]
    key = "198.51.100.7"
    started = time.monotonic()
    # two requests at a time in each process, 150 tries each: 600 tries for a bucket of 60
    passed = await asyncio.gather(*(_hammer(lim, key, 150) for lim in limiters for _ in (1, 2)))
    elapsed = time.monotonic() - started
    refill = per_minute / 60 * elapsed
    total = sum(passed)
    # the bound of docs/deployment.md: capacity + refill + chunk per process
    assert total <= per_minute + refill + chunk * len(stores), (total, elapsed)
    assert total >= per_minute, (total, elapsed)  # and the bucket itself is not lost
    assert passed[0] + passed[1] > 0  # both processes served
    assert passed[2] + passed[3] > 0
    # a request costs a statement only once per chunk, or once per sync interval
    syncs = sum(s.syncs for s in stores)
    assert syncs <= total / chunk + 2 * (elapsed / 0.1 + 1) + 4, (syncs, total, elapsed)


async def test_one_process_is_exact_and_answers_retry_after(
    pools: list[StatementPool], name: str
) -> None:
    limiter = _store(pools[0]).limiter(name, 30, _message)
    passed = await _hammer(limiter, "link-hash", 40)
    assert passed == 30
    with pytest.raises(TooManyRequests) as refused:
        await limiter.take("link-hash")
    assert refused.value.headers == {"Retry-After": "2"}  # a token every 2 s
    assert "Подождите 2 с" in refused.value.message
    await limiter.take("other-link")  # another key has its own bucket


async def test_the_bucket_refills_by_the_database_clock(
    pools: list[StatementPool], name: str, database_url: str
) -> None:
    store = _store(pools[0], chunk=5)
    limiter = store.limiter(name, 60, _message)
    assert await _hammer(limiter, "k", 70) == 60
    # 20 s pass on the database's clock for this bucket
    with psycopg.connect(to_libpq_url(database_url), autocommit=True) as conn:
        moved = conn.execute(
            "UPDATE rate_buckets SET at = at - interval '20 seconds' WHERE key = %s",
            (store.row_key(name, "k"),),
        ).rowcount
    assert moved == 1
    await asyncio.sleep(1.05)  # the process itself refuses until a token has come back
    passed = await _hammer(limiter, "k", 40)
    assert 20 <= passed <= 23, passed  # 20 s of refill and the real seconds of the test
    # another process sees the same bucket: empty now
    other = _store(pools[1], chunk=1).limiter(name, 60, _message)
    await other.take("k")  # its first allowance (the documented slack of one chunk)
    with pytest.raises(TooManyRequests):
        await other.take("k")


async def test_keys_are_not_stored_in_clear_and_full_buckets_are_swept(
    pools: list[StatementPool], name: str, session: AsyncSession, settings: Settings
) -> None:
    store = _store(pools[0], chunk=1, sync_seconds=0)
    await store.limiter(name, 600, _message).take("203.0.113.9")
    conn = await psycopg.AsyncConnection.connect(pools[0].url, autocommit=True)
    try:
        rows = await (
            await conn.execute("SELECT key, full_at > now() FROM rate_buckets")
        ).fetchall()
    finally:
        await conn.close()
    assert rows == [(store.row_key(name, "203.0.113.9"), True)]
    assert b"203.0.113.9" not in bytes(rows[0][0])
    # a full bucket's row means nothing: the job deletes it (in the test's own transaction)
    await session.execute(
        text("INSERT INTO rate_buckets VALUES ('\\x01', 5, 5, 1, now(), now() - interval '1 s')")
    )
    assert await sweep_rate_buckets(session, settings) >= 1
    left = await session.scalar(
        select(func.count()).select_from(text("rate_buckets")).where(text("key = '\\x01'"))
    )
    assert left == 0


async def test_a_process_reports_many_new_keys_in_one_statement(
    pools: list[StatementPool], name: str
) -> None:
    """Citizens each come from their own address: a new key costs no statement of its own."""
    store = _store(pools[0], chunk=10, sync_seconds=10)
    limiter = store.limiter(name, 300, _message)
    for i in range(1000):
        await limiter.take(f"address-{i}")
    assert store.syncs == 1  # the first request's report; the next is due in 10 s
    await store.sync()
    assert store.syncs == 2


@pytest.fixture
def statements(connection: AsyncConnection) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(connection.sync_connection, "before_cursor_execute", record)
    yield seen
    event.remove(connection.sync_connection, "before_cursor_execute", record)


async def test_the_respondent_form_costs_one_statement_per_chunk(
    client: AsyncClient, settings: Settings, statements: list[str]
) -> None:
    client._transport.app.state.settings = settings.model_copy(  # type: ignore[attr-defined]
        update={"survey_ip_per_minute": 300, "rate_limit_sync_ms": 10_000}
    )
    for _ in range(40):
        assert (await client.get("/s/" + "C" * 32)).status_code == 404
    limits = [s for s in statements if "rate_buckets" in s]
    # the first request reports at once, then one report each time the chunk of 10 is spent
    assert 1 <= len(limits) <= 1 + 40 // 10, len(limits)
    pages = [s for s in statements if "rate_buckets" not in s]
    assert len(pages) >= 40  # the form's own statement is still there, one per request


async def test_concurrent_requests_of_one_key_are_not_refused_while_the_bucket_has_tokens(
    pools: list[StatementPool], name: str
) -> None:
    # 32 clients behind one address (one NAT, a benchmark's clients), 20 requests each, against
    # a bucket of 60 000: the process's allowance is 2, so reports are frequent, and requests
    # arriving while one runs spend the allowance it is about to hand out; none may be refused
    store = _store(pools[0], chunk=2)
    limiter = store.limiter(name, 60_000, _message)
    passed = await asyncio.gather(*(_hammer(limiter, "203.0.113.9", 20) for _ in range(32)))
    assert sum(passed) == 32 * 20
    # an empty bucket is still refused
    small = store.limiter(f"{name}.small", 20, _message)
    assert await _hammer(small, "203.0.113.10", 40) == 20
