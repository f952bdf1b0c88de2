"""``otklik indicators compute`` (``repository.rebuild_rollup``) makes the rollup and the summary
of its years equal to the answers whatever they held before, writes only the rows that differ,
and counts an answer committed while it runs exactly once.

The other tests rebuild figures the folds already kept right (so a rebuild that writes nothing
would pass them); here the rollup and the summary are damaged first: rows changed in every
column, rows missing, rows that should not be there, and a row of a year not rebuilt.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from otklik.indicators import repository
from otklik.indicators.models import IndicatorSummary
from otklik.indicators.rollup import COUNT_COLUMNS, SUMMARY_COLUMNS
from otklik.indicators.tasks import drain
from tests.factories import create_organization
from tests.indicators.factories import create_response, rollup_rows
from tests.indicators.test_fold import ANSWER, ITEMS, org  # noqa: F401 - the fixture

YEARS = date(2025, 1, 1), date(2026, 12, 31)


async def _summary(session: AsyncSession) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    t = IndicatorSummary.__table__.c
    rows = await session.execute(
        select(t.grain, t.day, t.organization_id, *(t[c] for c in SUMMARY_COLUMNS), t.x).where(
            t.day.between(*YEARS)
        )
    )
    return {tuple(r[:3]): tuple(r[3:]) for r in rows}


def _same(a: Any, b: Any) -> None:
    """Counts exactly; the integral moments (float8 sums, summed in another order) to rounding
    error."""
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        if isinstance(y, float):
            assert x == pytest.approx(y, rel=1e-9, abs=1e-9), (x, y)
        else:
            assert x == y


async def test_a_rebuild_repairs_every_damaged_row(session: AsyncSession) -> None:
    rnd = random.Random(20)
    orgs = [await create_organization(session) for _ in range(6)]
    for _ in range(240):
        day = date(rnd.choice((2025, 2026)), rnd.randint(1, 11), rnd.randint(1, 28))
        scores = {c: rnd.randint(1, 5) for c in ITEMS if rnd.random() < 0.8}
        if rnd.random() < 0.5:
            scores["recommend"] = rnd.randint(0, 1)
        await create_response(session, rnd.choice(orgs), day, scores, fold=False)
    await drain(session)
    rollup = await rollup_rows(session, *YEARS)
    summary = await _summary(session)
    assert len(rollup) > 300
    assert {r[0] for r in rollup} == {"m", "y"}

    # damage: every value column of some rows (month and year rows, every code), rows
    # missing, rows that should not be there; and a row of a year the rebuild leaves alone
    values = (*COUNT_COLUMNS, "isum", "isumsq")
    damaged = rnd.sample(rollup, 60)
    for i, row in enumerate(damaged[:40]):
        column = values[i % len(values)]
        await session.execute(
            text(
                f"UPDATE indicator_rollup SET {column} = {column} + 1 "  # noqa: S608
                "WHERE grain = :g AND day = :d AND organization_id = :o AND code = :c"
            ),
            dict(zip(("g", "d", "o", "c"), row[:4], strict=True)),
        )
    for row in damaged[40:]:
        await session.execute(
            text(
                "DELETE FROM indicator_rollup "
                "WHERE grain = :g AND day = :d AND organization_id = :o AND code = :c"
            ),
            dict(zip(("g", "d", "o", "c"), row[:4], strict=True)),
        )
    ghost = "INSERT INTO indicator_rollup VALUES (:g, :d, :o, :c, 3, 9, 0, 1, 1, 0, 0, 1, 0, 0)"
    for g, d, c in (
        ("m", date(2026, 12, 1), "overall"),
        ("y", date(2025, 1, 1), "ghost"),
        ("m", date(2024, 6, 1), "overall"),  # not rebuilt: stays
    ):
        await session.execute(text(ghost), {"g": g, "d": d, "o": orgs[0].id, "c": c})
    keys = rnd.sample(sorted(summary), 12)
    for i, (g, d, o) in enumerate(keys[:8]):
        column = SUMMARY_COLUMNS[(i * 3) % len(SUMMARY_COLUMNS)]
        await session.execute(
            text(
                f"UPDATE indicator_summary SET {column} = {column} + 1 "  # noqa: S608
                "WHERE grain = :g AND day = :d AND organization_id = :o"
            ),
            {"g": g, "d": d, "o": o},
        )
    for g, d, o in keys[8:]:
        await session.execute(
            text(
                "DELETE FROM indicator_summary "
                "WHERE grain = :g AND day = :d AND organization_id = :o"
            ),
            {"g": g, "d": d, "o": o},
        )
    cols = ", ".join(SUMMARY_COLUMNS)
    zeros = ", ".join("0" for _ in SUMMARY_COLUMNS[1:])
    await session.execute(
        text(
            f"INSERT INTO indicator_summary (grain, day, organization_id, {cols}) "  # noqa: S608
            f"VALUES ('m', '2026-12-01', :o, 4, {zeros})"
        ),
        {"o": orgs[1].id},
    )
    assert await rollup_rows(session, *YEARS) != rollup
    assert await _summary(session) != summary

    for year in (2025, 2026):
        written = await repository.rebuild_rollup(session, date(year, 1, 1), date(year, 12, 31))
        assert written == len([r for r in rollup if r[1].year == year])
    rebuilt = await rollup_rows(session, *YEARS)
    assert [r[:4] for r in rebuilt] == [r[:4] for r in rollup]
    for new, old in zip(rebuilt, rollup, strict=True):
        _same(new, old)
    zero = "SELECT count(*) FROM indicator_rollup WHERE n = 0 AND day BETWEEN :s AND :e"
    assert (await session.execute(text(zero), dict(zip("se", YEARS, strict=True)))).scalar() == 0
    kept = await session.execute(
        text("SELECT n FROM indicator_rollup WHERE day = '2024-06-01' AND organization_id = :o"),
        {"o": orgs[0].id},
    )
    assert kept.scalars().all() == [3]
    now = await _summary(session)
    assert now.keys() == summary.keys()
    for k in summary:
        _same(now[k], summary[k])


async def _answer(engine: AsyncEngine, oid: int, day: date) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(ANSWER),
            {"id": uuid.uuid4(), "o": oid, "d": day, "codes": ["overall"], "vals": [4]},
        )


async def test_an_answer_committed_during_a_rebuild_counts_once(
    org: tuple[int, AsyncEngine],  # noqa: F811 - the fixture
) -> None:
    """The rebuild reads the answers in its first statement and writes in later ones; an answer
    committed in between is not in its figures, so it must stay queued for the next fold."""
    oid, engine = org
    day = date(2033, 3, 5)  # a year no other test writes: the rebuild commits
    for _ in range(3):
        await _answer(engine, oid, day)
    async with engine.connect() as blocker, engine.connect() as rebuilder:
        await blocker.begin()
        # the rebuild's writing statement waits for this lock, after its reading one
        await blocker.execute(text("LOCK TABLE indicator_rollup IN SHARE MODE"))
        pid = (await rebuilder.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        await rebuilder.commit()

        async def rebuild() -> int:
            await rebuilder.begin()
            n = await repository.rebuild_rollup(
                AsyncSession(bind=rebuilder), date(2033, 1, 1), date(2033, 12, 31)
            )
            await rebuilder.commit()
            return n

        task = asyncio.create_task(rebuild())
        waiting = "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = :p"
        for _ in range(400):
            async with engine.connect() as conn:
                if (await conn.execute(text(waiting), {"p": pid})).scalar():
                    break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the rebuild never waited for the rollup")
        for _ in range(2):  # committed after the rebuild read the answers
            await _answer(engine, oid, day)
        await blocker.commit()
        assert await task > 0
    async with engine.connect() as conn, conn.begin():
        await drain(AsyncSession(bind=conn))
        counted = await conn.execute(
            text(
                "SELECT grain, n FROM indicator_rollup "
                "WHERE organization_id = :o AND code = '*' ORDER BY grain"
            ),
            {"o": oid},
        )
        assert [tuple(r) for r in counted] == [("m", 5), ("y", 5)]
