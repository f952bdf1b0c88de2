"""The claim statement, the history's rows and its pruning, on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from otklik.db import create_engine, session_factory
from otklik.jobs import repository
from otklik.jobs.service import Run, describe_error, worth_keeping
from otklik.kit.clock import now_utc


@pytest.fixture
async def name(database_url: str) -> AsyncIterator[str]:
    """A job name of this test; its committed rows are deleted afterwards."""
    job = f"test.claim_{uuid.uuid4().hex[:8]}"
    yield job
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM job_schedule WHERE name = :n"), {"n": job})
    await engine.dispose()


async def _claim_and_commit(engine: AsyncEngine, name: str, worker: str) -> bool:
    async with session_factory(engine)() as session:
        won = await repository.claim(session, name, 3600, worker)
        await session.commit()
        return won is not None


async def test_concurrent_claims_of_one_period_give_it_to_exactly_one(
    database_url: str, name: str
) -> None:
    engines = [create_engine(database_url) for _ in range(4)]
    try:
        # a new job: four inserts race; then a due job: four updates race
        for _ in range(2):
            won = await asyncio.gather(
                *(_claim_and_commit(e, name, f"host:{i}") for i, e in enumerate(engines))
            )
            assert won.count(True) == 1, won
            async with engines[0].begin() as conn:
                await conn.execute(
                    text("UPDATE job_schedule SET next_due = now() WHERE name = :n"), {"n": name}
                )
    finally:
        for e in engines:
            await e.dispose()


async def test_a_claimed_period_is_not_claimed_again(session: AsyncSession) -> None:
    job = f"test.again_{uuid.uuid4().hex[:8]}"
    due = await repository.claim(session, job, 60, "a:1")
    assert due is not None
    assert await repository.claim(session, job, 60, "b:2") is None
    assert job in await repository.not_due(session)
    state = (await repository.states(session))[job]
    assert state.last_worker == "a:1"
    assert state.next_due - state.last_started_at == timedelta(seconds=60)  # type: ignore[operator]
    assert due == state.last_started_at  # a new job's first period begins at its first claim


async def test_a_late_claim_keeps_the_periods_on_their_grid(session: AsyncSession) -> None:
    job = f"test.late_{uuid.uuid4().hex[:8]}"
    assert await repository.claim(session, job, 60, "a:1") is not None
    # no worker claimed it for two and a half periods
    grid = await session.scalar(
        text(
            "UPDATE job_schedule SET next_due = now() - interval '150 seconds'"
            " WHERE name = :n RETURNING next_due"
        ),
        {"n": job},
    )
    due = await repository.claim(session, job, 60, "b:2")
    assert due == grid + timedelta(seconds=120)  # the period now running, not now
    assert await repository.claim(session, job, 60, "c:3") is None  # the missed ones are not run
    state = (await repository.states(session))[job]
    assert state.next_due == grid + timedelta(seconds=180)


def _run(job: str, days_ago: int, *, failed: bool = False) -> Run:
    at = now_utc() - timedelta(days=days_ago)
    return Run(
        job=job,
        worker="h:1",
        scheduled_at=None,
        started_at=at,
        finished_at=at + timedelta(seconds=2),
        duration_ms=2000,
        done=5,
        error="ValueError" if failed else None,
    )


async def test_history_older_than_thirty_days_is_pruned(session: AsyncSession) -> None:
    job = f"test.prune_{uuid.uuid4().hex[:8]}"
    for days in (45, 31, 29, 0):
        await repository.record(session, _run(job, days))
    while await repository.prune(session, batch=1):
        pass
    left = await session.scalars(
        text("SELECT now() - started_at > interval '30 days' FROM job_runs WHERE job = :j"),
        {"j": job},
    )
    assert list(left) == [False, False]


async def test_states_count_the_day_s_failures_and_show_the_last_run(
    session: AsyncSession,
) -> None:
    job = f"test.state_{uuid.uuid4().hex[:8]}"
    await repository.claim(session, job, 3600, "h:1")
    await repository.record(session, _run(job, 3, failed=True))  # not in the last 24 h
    await repository.record(session, _run(job, 0, failed=True))
    await repository.record(session, _run(job, 0))
    state = (await repository.states(session))[job]
    assert state.failures == 1
    assert (state.failed, state.done, state.duration_ms) == (False, 5, 2000)
    page = await repository.history(
        session, repository.PageParams(per_page=10), job=job, failed_only=True
    )
    assert page.total == 2
    assert [r.started_at for r in page.items] == sorted(
        (r.started_at for r in page.items), reverse=True
    )


def test_an_error_keeps_its_class_and_where_it_was_raised_never_its_message() -> None:
    try:
        int("Иванов, +79161234567")
    except ValueError as exc:
        error, detail = describe_error(exc)
    assert error == "ValueError"
    assert detail is None  # raised outside our code: no line of ours to name
    assert worth_keeping(3600, 0, False)
    assert not worth_keeping(1, 0, False)
    assert worth_keeping(1, 0, True)
    assert worth_keeping(1, 3, False)
