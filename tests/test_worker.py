"""The worker over the shared schedule: several workers, each job once per period, its history.

The concurrent tests give each worker its own engine (its own connections, its own commits), as
processes on several hosts would have, and clean their rows up afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from otklik.config import Settings
from otklik.db import create_engine, session_factory
from otklik.schedule import SCHEDULE, Job, Periodic
from otklik.worker import run_due, run_forever

PERSONAL = "Жалоба Иванова Ивана Петровича, ivanov@example.ru, +79161234567: врач нагрубил"


def _name(what: str) -> str:
    return f"test.{what}_{uuid.uuid4().hex[:8]}"


def counting(
    calls: list[str], *, sleep: float = 0.0, returns: Callable[[int], int] | None = None
) -> Job:
    """A job that notes each call (and sleeps, so concurrent runs overlap)."""

    async def job(session: AsyncSession, settings: Settings) -> int:
        calls.append("run")
        await session.execute(text("SELECT 1"))
        if sleep:
            await asyncio.sleep(sleep)
        return returns(len(calls)) if returns else 0

    return job


async def failing(session: AsyncSession, settings: Settings) -> int:
    raise ValueError(PERSONAL)


async def _runs(session: AsyncSession, job: str) -> list[dict[str, object]]:
    rows = await session.execute(
        text("SELECT * FROM job_runs WHERE job = :job ORDER BY id"), {"job": job}
    )
    return [dict(r._mapping) for r in rows]


@pytest.fixture
async def engines(database_url: str) -> AsyncIterator[Callable[[], AsyncEngine]]:
    """Engines of separate "workers"; the jobs' rows they leave are deleted afterwards."""
    made: list[AsyncEngine] = []

    def make() -> AsyncEngine:
        made.append(create_engine(database_url))
        return made[-1]

    yield make
    for e in made:
        await e.dispose()
    cleanup = create_engine(database_url)
    async with cleanup.begin() as conn:
        await conn.execute(text("DELETE FROM job_runs WHERE job LIKE 'test.%'"))
        await conn.execute(text("DELETE FROM job_schedule WHERE name LIKE 'test.%'"))
    await cleanup.dispose()


@pytest.mark.parametrize("workers", [2, 4])
async def test_an_hourly_job_runs_once_across_concurrent_workers(
    engines: Callable[[], AsyncEngine], settings: Settings, workers: int
) -> None:
    calls: list[str] = []
    name = _name("hourly")
    schedule = [Periodic(name, 3600, counting(calls, sleep=0.05), "Проверка")]
    start = asyncio.Event()

    async def worker(factory: async_sessionmaker[AsyncSession]) -> int:
        await start.wait()
        ran = 0
        for _ in range(5):  # five cycles each, as five seconds of a running worker
            ran += name in await run_due(factory, settings, schedule=schedule)
            await asyncio.sleep(0.01)
        return ran

    tasks = [asyncio.create_task(worker(session_factory(engines()))) for _ in range(workers)]
    await asyncio.sleep(0.05)
    start.set()
    ran = await asyncio.gather(*tasks)
    assert calls == ["run"]
    assert sorted(ran) == [0] * (workers - 1) + [1]
    async with session_factory(engines())() as session:
        runs = await _runs(session, name)
    assert len(runs) == 1
    assert runs[0]["failed"] is False
    assert runs[0]["duration_ms"] >= 50  # type: ignore[operator]


async def test_a_new_job_in_the_schedule_is_due_at_once_then_not_until_its_interval(
    engines: Callable[[], AsyncEngine], settings: Settings
) -> None:
    calls: list[str] = []
    name = _name("daily")
    factory = session_factory(engines())
    schedule = [Periodic(name, 86400, counting(calls), "Проверка")]
    assert await run_due(factory, settings, schedule=schedule) == {name: 0}
    assert await run_due(factory, settings, schedule=schedule) == {}
    async with factory() as session:
        due = await session.scalar(
            text("SELECT next_due - now() > interval '23 hours' FROM job_schedule WHERE name = :n"),
            {"n": name},
        )
    assert due is True
    assert calls == ["run"]


async def test_a_failure_is_recorded_without_its_message_and_tried_again_soon(
    engines: Callable[[], AsyncEngine], session: AsyncSession, settings: Settings
) -> None:
    sessionmaker = session_factory(engines())  # its own connections: the runs go side by side
    calls: list[str] = []
    bad, good = _name("bad"), _name("good")
    schedule = [
        Periodic(bad, 3600, failing, "Сбой"),
        Periodic(good, 3600, counting(calls), "Проверка"),
    ]
    done = await run_due(sessionmaker, settings, schedule=schedule)
    assert done == {bad: 0, good: 0}  # the failure did not stop the other job
    assert calls == ["run"]
    [run] = await _runs(session, bad)
    assert run["failed"] is True
    assert run["error"] == "ValueError"
    assert str(run["error_detail"]).startswith("worker.py:")
    stored = f"{run['error']} {run['error_detail']}"
    for part in ("Иванов", "ivanov@", "+7916", "врач"):
        assert part not in stored
    assert run["finished_at"] >= run["started_at"]  # type: ignore[operator]
    retry = await session.scalar(
        text("SELECT next_due <= now() + interval '60 seconds' FROM job_schedule WHERE name = :n"),
        {"n": bad},
    )
    assert retry is True


async def test_the_worker_raises_when_every_job_fails(
    engines: Callable[[], AsyncEngine], settings: Settings
) -> None:
    sessionmaker = session_factory(engines())
    schedule = [Periodic(_name("a"), 60, failing, "А"), Periodic(_name("b"), 60, failing, "Б")]
    with pytest.raises(ValueError, match="Жалоба"):
        await run_due(sessionmaker, settings, schedule=schedule)


async def test_a_busy_job_drains_and_a_sweep_is_recorded_only_when_it_did_something(
    engines: Callable[[], AsyncEngine], session: AsyncSession, settings: Settings
) -> None:
    sessionmaker = session_factory(engines())  # its own connections: the runs go side by side
    busy_calls: list[str] = []
    idle_calls: list[str] = []
    busy, idle = _name("busy"), _name("idle")
    schedule = [
        # finds work on its first three calls: drained in one run
        Periodic(busy, 1, counting(busy_calls, returns=lambda n: 1 if n <= 3 else 0), "Очередь"),
        Periodic(idle, 1, counting(idle_calls), "Пусто"),
    ]
    assert await run_due(sessionmaker, settings, schedule=schedule) == {busy: 3, idle: 0}
    assert len(busy_calls) == 4
    [run] = await _runs(session, busy)
    assert run["done"] == 3
    assert await _runs(session, idle) == []


async def test_a_long_batch_of_one_job_does_not_delay_the_start_of_another(
    engines: Callable[[], AsyncEngine], settings: Settings
) -> None:
    slow, tick = _name("slow"), _name("tick")
    batches: list[float] = []
    ticks: list[float] = []

    async def batch(session: AsyncSession, settings: Settings) -> int:
        batches.append(time.monotonic())
        await session.execute(text("SELECT 1"))
        await asyncio.sleep(1)
        return 1  # always more to do: it drains for drain_seconds

    async def periodic(session: AsyncSession, settings: Settings) -> int:
        ticks.append(time.monotonic())
        return 1

    schedule = [Periodic(slow, 60, batch, "Очередь"), Periodic(tick, 1, periodic, "Такт")]
    worker = asyncio.create_task(
        run_forever(session_factory(engines()), settings, drain_seconds=4.5, schedule=schedule)
    )
    await asyncio.sleep(4.5)
    worker.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await worker
    assert batches, "the long batch ran"
    during = [t for t in ticks if batches[0] < t < batches[0] + 4]
    assert len(during) >= 2, (batches, ticks)  # a start every second, not after the batch


def test_every_job_has_a_unique_name_and_a_russian_label() -> None:
    names = [e.name for e in SCHEDULE]
    assert len(names) == len(set(names))
    for e in SCHEDULE:
        assert e.interval >= 1
        assert any("а" <= c <= "я" for c in e.label.lower()), e
        assert "_" not in e.label, e
