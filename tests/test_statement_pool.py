"""``StatementPool``: the respondent form's autocommit statements on raw psycopg connections."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from otklik.db import Sql, StatementPool, to_libpq_url

PAIR = Sql("SELECT CAST(:n AS int) AS n, CAST(:word AS text) AS word")
SLOW = Sql("SELECT pg_sleep(0.05), pg_backend_pid() AS pid")
PID = Sql("SELECT pg_backend_pid() AS pid")


async def test_rows_are_named_and_connections_reused(database_url: str) -> None:
    pool = StatementPool(database_url, size=3)
    try:
        first = await pool.one(PAIR, {"n": 1, "word": "раз"})
        second = await pool.one(PAIR, {"n": 2, "word": "два"})
        assert (first.n, first.word) == (1, "раз")
        assert (second.n, second.word) == (2, "два")
        assert type(first) is type(second)  # the row class is made once per statement
        assert (await pool.one(PID, {})).pid == (await pool.one(PID, {})).pid
        assert pool.open == 1
        assert await pool.one(Sql("SELECT 1 WHERE false"), {}) is None
    finally:
        await pool.close()


async def test_more_statements_than_connections_all_complete(database_url: str) -> None:
    pool = StatementPool(database_url, size=2)
    try:
        rows = await asyncio.wait_for(asyncio.gather(*(pool.one(SLOW, {}) for _ in range(8))), 30)
        assert len({r.pid for r in rows}) == 2
        assert pool.open == 2
        assert len(pool.idle) == 2
    finally:
        await pool.close()


async def test_a_failed_statement_keeps_the_pool_usable(database_url: str) -> None:
    pool = StatementPool(database_url, size=1)
    try:
        with pytest.raises(psycopg.errors.DivisionByZero):
            await pool.one(Sql("SELECT 1 / CAST(:z AS int) AS x"), {"z": 0})
        assert (await pool.one(PAIR, {"n": 3, "word": "три"})).n == 3
        assert pool.open == 1
    finally:
        await pool.close()


async def test_a_dropped_connection_is_replaced_and_the_statement_runs_once_more(
    database_url: str,
) -> None:
    pool = StatementPool(database_url, size=1)
    try:
        pid = (await pool.one(PID, {})).pid
        with psycopg.connect(to_libpq_url(database_url), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        await asyncio.sleep(0.1)
        again = await pool.one(PID, {})
        assert again.pid != pid
        assert pool.open == 1
    finally:
        await pool.close()
