"""The indicator queue's fold: exactly once with two folders, concurrent writers and a folder
killed mid-batch; after the queue drains the rollup and the summary equal the recompute; the
worker drains the queue within seconds.

These tests commit (folders and writers are separate connections, as separate processes would
be): their answers belong to an organization id of their own, deleted afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from otklik.config import Settings
from otklik.db import create_engine, session_factory
from otklik.indicators import repository
from otklik.indicators.rollup import SUMMARY_COLUMNS
from otklik.indicators.tasks import drain
from otklik.schedule import SCHEDULE
from otklik.worker import run_due

ITEMS = ("overall", "organization", "comfort", "staff", "information", "accessibility")
DAYS = (date(2026, 3, 10), date(2026, 4, 2), date(2025, 12, 31))
ANSWER = """
WITH r AS (
  INSERT INTO responses (id, questionnaire_version, organization_id, organization_type_code,
    region_code, founder_id, service_code, served_on, answered_on, channel, respondent,
    age_band, answers)
  VALUES (:id, '2025.1', :o, 'med_outpatient', '77', 1, 'x', :d, :d, 'log', 'recipient',
    '30-39', '{}')
  RETURNING id
)
INSERT INTO response_items (response_id, code, value, organization_id, answered_on)
SELECT r.id, t.code, t.value, :o, :d
FROM r, unnest(CAST(:codes AS text[]), CAST(:vals AS smallint[])) t(code, value)
"""


@pytest.fixture
async def org(database_url: str) -> AsyncIterator[tuple[int, AsyncEngine]]:
    """An organization id no other test uses, and an engine; its rows go afterwards."""
    oid = 900_000_000 + random.randint(0, 99_999_999)
    engine = create_engine(database_url)
    yield oid, engine
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM responses WHERE organization_id = :o"), {"o": oid})
        for table in ("indicator_queue", "indicator_rollup", "indicator_summary"):
            await conn.execute(
                text(f"DELETE FROM {table} WHERE organization_id = :o"),  # noqa: S608
                {"o": oid},
            )
        await conn.execute(text("DELETE FROM job_runs WHERE job = 'indicators.fold_queue'"))
        await conn.execute(text("DELETE FROM job_schedule WHERE name = 'indicators.fold_queue'"))
    await engine.dispose()


async def _answer(engine: AsyncEngine, oid: int, rnd: random.Random) -> uuid.UUID:
    rid = uuid.uuid4()
    codes = [c for c in ITEMS if rnd.random() < 0.8]
    async with engine.begin() as conn:
        await conn.execute(
            text(ANSWER),
            {
                "id": rid,
                "o": oid,
                "d": rnd.choice(DAYS),
                "codes": codes,
                "vals": [rnd.randint(1, 5) for _ in codes],
            },
        )
    return rid


async def _change(engine: AsyncEngine, oid: int, rid: uuid.UUID, rnd: random.Random) -> None:
    """A later statement on an answered questionnaire: an item removed, or the whole of it."""
    async with engine.begin() as conn:
        if rnd.random() < 0.5:
            await conn.execute(
                text("DELETE FROM response_items WHERE response_id = :r AND code = :c"),
                {"r": rid, "c": rnd.choice(ITEMS)},
            )
        else:
            await conn.execute(text("DELETE FROM responses WHERE id = :r"), {"r": rid})


async def _figures(engine: AsyncEngine, oid: int) -> tuple[list[Any], list[Any]]:
    async with engine.connect() as conn:
        rollup = await conn.execute(
            text(
                "SELECT grain, day, code, n, total, n0, n1, n2, n3, n4, n5, "
                "round(isum::numeric, 9), round(isumsq::numeric, 9) FROM indicator_rollup "
                "WHERE organization_id = :o AND (n, total, n1, n2, n3, n4, n5) "
                "<> (0, 0, 0, 0, 0, 0, 0) ORDER BY 1, 2, 3"
            ),
            {"o": oid},
        )
        cols = ", ".join(f"round({c}::numeric, 9)" for c in SUMMARY_COLUMNS)
        summary = await conn.execute(
            text(
                f"SELECT grain, day, {cols} FROM indicator_summary "  # noqa: S608
                "WHERE organization_id = :o AND resp <> 0 ORDER BY 1, 2"
            ),
            {"o": oid},
        )
        return [tuple(r) for r in rollup], [tuple(r) for r in summary]


async def _recomputed(engine: AsyncEngine, oid: int) -> tuple[list[Any], list[Any]]:
    """The figures of ``otklik indicators compute`` for the years, in a transaction rolled
    back afterwards (the folded figures are left as they were)."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        session = AsyncSession(bind=conn)
        await repository.rebuild_rollup(session, date(2025, 1, 1), date(2026, 12, 31))
        rollup = await session.execute(
            text(
                "SELECT grain, day, code, n, total, n0, n1, n2, n3, n4, n5, "
                "round(isum::numeric, 9), round(isumsq::numeric, 9) FROM indicator_rollup "
                "WHERE organization_id = :o ORDER BY 1, 2, 3"
            ),
            {"o": oid},
        )
        cols = ", ".join(f"round({c}::numeric, 9)" for c in SUMMARY_COLUMNS)
        summary = await session.execute(
            text(
                f"SELECT grain, day, {cols} FROM indicator_summary "  # noqa: S608
                "WHERE organization_id = :o AND resp <> 0 ORDER BY 1, 2"
            ),
            {"o": oid},
        )
        out = [tuple(r) for r in rollup], [tuple(r) for r in summary]
        await outer.rollback()
        return out


async def _queued(engine: AsyncEngine, oid: int) -> int:
    async with engine.connect() as conn:
        n = await conn.execute(
            text("SELECT count(*) FROM indicator_queue WHERE organization_id = :o"), {"o": oid}
        )
        return int(n.scalar_one())


async def _fold(engine: AsyncEngine, limit: int) -> int:
    async with engine.connect() as conn, conn.begin():
        return await repository.fold_queue(AsyncSession(bind=conn), limit=limit)


async def test_two_folders_and_writers_at_once_count_each_answer_once(
    org: tuple[int, AsyncEngine],
) -> None:
    oid, engine = org
    writing = True

    async def writer(seed: int) -> None:
        w = random.Random(seed)
        mine: list[uuid.UUID] = []
        for _ in range(40):
            mine.append(await _answer(engine, oid, w))
            if w.random() < 0.25:  # a later change to an earlier questionnaire
                await _change(engine, oid, mine.pop(w.randrange(len(mine))), w)

    async def folder(seed: int) -> int:
        f, folded = random.Random(seed), 0
        while writing or await _queued(engine, oid):
            folded += await _fold(engine, limit=f.randint(1, 60))
            await asyncio.sleep(f.random() / 50)
        return folded

    folders = [asyncio.create_task(folder(s)) for s in (1, 2)]
    await asyncio.gather(*(writer(s) for s in (3, 4, 5)))
    writing = False
    done = await asyncio.gather(*folders)
    assert sum(done) > 0
    assert await _queued(engine, oid) == 0
    folded = await _figures(engine, oid)
    assert folded[0]
    assert folded[1]
    assert folded == await _recomputed(engine, oid)


async def test_a_folder_killed_mid_batch_leaves_its_batch_queued(
    org: tuple[int, AsyncEngine],
) -> None:
    oid, engine = org
    rnd = random.Random(11)
    for _ in range(30):
        await _answer(engine, oid, rnd)
    queued = await _queued(engine, oid)
    assert queued > 30
    victim = await engine.connect()
    await victim.begin()
    pid = (await victim.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    assert await repository.fold_queue(AsyncSession(bind=victim), limit=40) > 0
    # while the victim holds its batch, another folder folds nothing (one fold at a time)
    assert await _fold(engine, limit=1000) == 0
    async with engine.connect() as admin:
        await admin.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
    with contextlib.suppress(Exception):
        await victim.close()
    assert await _queued(engine, oid) == queued  # nothing was taken
    assert await _figures(engine, oid) == ([], [])  # nothing was counted
    while await _fold(engine, limit=25):
        pass
    assert await _queued(engine, oid) == 0
    assert await _figures(engine, oid) == await _recomputed(engine, oid)


async def test_the_worker_drains_the_queue_within_seconds(
    org: tuple[int, AsyncEngine], settings: Settings
) -> None:
    oid, engine = org
    rnd = random.Random(5)
    for _ in range(25):
        await _answer(engine, oid, rnd)
    assert await _queued(engine, oid) > 0
    entry = next(p for p in SCHEDULE if p.name == "indicators.fold_queue")
    assert entry.interval <= 1
    started = time.monotonic()
    done = await run_due(session_factory(engine), settings, schedule=[entry])
    assert done[entry.name] > 0
    assert await _queued(engine, oid) == 0
    assert time.monotonic() - started < 5
    assert await _figures(engine, oid) == await _recomputed(engine, oid)


async def test_drain_in_the_test_transaction(session: AsyncSession) -> None:
    """The helper the other tests use folds everything queued in their own transaction."""
    await session.execute(
        text(ANSWER),
        {
            "id": uuid.uuid4(),
            "o": 1,
            "d": DAYS[0],
            "codes": ["overall", "staff"],
            "vals": [5, 3],
        },
    )
    # two items, the questionnaire by its answer day ("*") and by its service day ("*served")
    assert await repository.queued(session) == 4
    assert await drain(session) > 0
    assert await repository.queued(session) == 0
    n = await session.execute(
        text(
            "SELECT code, n, total FROM indicator_rollup WHERE organization_id = 1 "
            "AND grain = 'm' ORDER BY code"
        )
    )
    assert [tuple(r) for r in n] == [
        ("*", 1, 1),
        ("*integral", 1, 0),
        ("*served", 1, 1),
        ("overall", 1, 5),
        ("staff", 1, 3),
    ]


async def test_a_rebuild_takes_the_queued_answers_of_its_years(session: AsyncSession) -> None:
    """``otklik indicators compute`` counts the queued answers of the years it rebuilds and drops
    them from the queue; a fold afterwards counts nothing twice (and still counts the queued
    answers of other years)."""
    rnd = random.Random(3)
    for i in range(12):
        codes = [c for c in ITEMS if rnd.random() < 0.8]
        await session.execute(
            text(ANSWER),
            {
                "id": uuid.uuid4(),
                "o": 1,
                "d": date(2024, 5, 3) if i == 0 else DAYS[i % 2],
                "codes": codes,
                "vals": [rnd.randint(1, 5) for _ in codes],
            },
        )
    await repository.rebuild_rollup(session, date(2026, 1, 1), date(2026, 12, 31))
    rebuilt = await _rows(session)
    assert await repository.queued(session) > 0  # the 2024 answer waits for the fold
    await drain(session)
    folded = await _rows(session)
    assert [r for r in folded if r[1].year == 2026] == [r for r in rebuilt if r[1].year == 2026]
    assert ("y", date(2024, 1, 1), "*", 1) in [r[:4] for r in folded]


async def _rows(session: AsyncSession) -> list[tuple[Any, ...]]:
    rows = await session.execute(
        text(
            "SELECT grain, day, code, n, total, n1, n2, n3, n4, n5, round(isum::numeric, 9) "
            "FROM indicator_rollup WHERE organization_id = 1 ORDER BY 1, 2, 3"
        )
    )
    return [tuple(r) for r in rows]
