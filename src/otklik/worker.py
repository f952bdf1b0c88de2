"""The background worker: runs the jobs of ``schedule.py`` when they are due.

Any number of workers share one schedule (``otklik/jobs``): before running a job a worker
claims its period in the database, so a job starts once per interval across them all.

Each claimed run is a task of its own: the loop that claims periods goes on every second while a
long batch of another job (a delivery batch, planning, masking) runs, so every job starts on time
whatever the others are doing. A job still running in this worker is not claimed here again; its
next period goes to another worker (or waits for this run to end, if there is no other).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otklik.config import Settings
from otklik.db import transaction
from otklik.jobs import repository as jobs
from otklik.jobs.service import RETRY_SECONDS, Run, describe_error, worker_id, worth_keeping
from otklik.kit import metrics
from otklik.kit.clock import now_utc
from otklik.schedule import SCHEDULE, Periodic

log = logging.getLogger("otklik.worker")


DRAIN_SECONDS = 5.0
MAX_BACKOFF_SECONDS = 30.0
# Runs at once in one worker (each holds a connection of the engine's pool, 5 + 10 overflow by
# default): room for every sweep of the schedule and a few others; a due job beyond it is
# claimed a second later, when a run has ended. The longest intervals are claimed first.
MAX_RUNNING = 12
BLOCKED_SECONDS = 1.0  # a loop that wakes this much later than it asked is logged


async def run_due(
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    drain_seconds: float = DRAIN_SECONDS,
    schedule: Sequence[Periodic] = SCHEDULE,
) -> dict[str, int]:
    """Claim every job due now and run the claimed ones side by side; wait for them all.

    A job that did something runs again at once, for at most ``drain_seconds``. A job that
    fails is logged (rate-limited), counted and written to the history, and is tried again
    after a minute (or its interval, if shorter); the others still run.
    Raises the last failure when every job this worker tried failed (the database is down,
    say), so the caller backs off. Returns what each job this worker ran did.
    """
    done: dict[str, int] = {}
    claimed, not_claimed = await _claim_due(factory, schedule, running=set(), room=len(schedule))
    ran = await asyncio.gather(
        *(_run(factory, settings, e, at, drain_seconds, done) for e, at in claimed)
    )
    failures = not_claimed + [f for f in ran if f is not None]
    if failures and len(failures) == len(claimed) + len(not_claimed):
        raise failures[-1]
    metrics.worker_cycle_done(time.time())
    return done


async def _claim_due(
    factory: async_sessionmaker[AsyncSession],
    schedule: Sequence[Periodic],
    *,
    running: set[str],
    room: int,
) -> tuple[list[tuple[Periodic, datetime]], list[Exception]]:
    """The due jobs this worker claimed (with the start each period was due), at most ``room``
    of them and none of ``running``; the failures of claims. Raises if the database is down."""
    async with transaction(factory) as session:
        waiting = await jobs.not_due(session) | running
    worker = worker_id()
    claimed: list[tuple[Periodic, datetime]] = []
    failures: list[Exception] = []
    for entry in sorted(schedule, key=lambda e: -e.interval):
        if entry.name in waiting:
            continue
        if len(claimed) >= room:
            break
        try:
            async with transaction(factory) as session:
                due = await jobs.claim(session, entry.name, entry.interval, worker)
        except Exception as exc:
            failures.append(exc)
            log.warning("job not claimed", exc_info=True, extra={"job": entry.name})
            continue
        if due is not None:  # else another worker has this period
            claimed.append((entry, due))
    return claimed, failures


async def _run(
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    entry: Periodic,
    scheduled_at: datetime,
    drain_seconds: float,
    done: dict[str, int],
) -> Exception | None:
    """One claimed run, drained while it finds work; its history row; its failure, if any."""
    name = entry.name
    done[name] = 0
    started_at, started = now_utc(), time.monotonic()
    failure: Exception | None = None
    try:
        while True:
            async with transaction(factory) as session:
                n = await entry.job(session, settings)
            done[name] += n
            if n == 0 or time.monotonic() - started > drain_seconds:
                break
    except Exception as exc:
        failure = exc
        log.warning("job failed", exc_info=True, extra={"job": name})
    metrics.job_ran(name, done[name], failed=failure is not None)
    if failure is None and done[name]:
        log.info("job %s done: %s", name, done[name], extra={"job": name, "count": done[name]})
    if worth_keeping(entry.interval, done[name], failure is not None):
        error, detail = describe_error(failure) if failure is not None else (None, None)
        run = Run(
            job=name,
            worker=worker_id(),
            scheduled_at=scheduled_at,
            started_at=started_at,
            finished_at=now_utc(),
            duration_ms=round((time.monotonic() - started) * 1000),
            done=done[name],
            error=error,
            error_detail=detail,
        )
        try:
            async with transaction(factory) as session:
                await jobs.record(session, run)
                if failure is not None:
                    await jobs.retry_soon(session, name, min(entry.interval, RETRY_SECONDS))
        except Exception:
            log.warning("job history not written", exc_info=True, extra={"job": name})
    return failure


async def run_forever(
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    once: bool = False,
    drain_seconds: float = DRAIN_SECONDS,
    schedule: Sequence[Periodic] = SCHEDULE,
) -> None:
    """Claim the due jobs every second and start each claimed run as a task of its own; after a
    claim that failed altogether, wait longer (up to 30 s). ``once``: one round, its runs ended."""
    running: dict[str, asyncio.Task[Exception | None]] = {}
    pause = 1.0
    try:
        while True:
            for name in [n for n, task in running.items() if task.done()]:
                del running[name]
            try:
                claimed, failures = await _claim_due(
                    factory, schedule, running=set(running), room=MAX_RUNNING - len(running)
                )
                if failures and not claimed:
                    raise failures[-1]
                pause = 1.0
                metrics.worker_cycle_done(time.time())
            except Exception:
                pause = min(pause * 2, MAX_BACKOFF_SECONDS)
                log.warning("worker cycle failed; retrying in %.0f s", pause, exc_info=True)
                claimed = []
            for entry, at in claimed:
                run = _run(factory, settings, entry, at, drain_seconds, {})
                running[entry.name] = asyncio.create_task(run, name=entry.name)
            if once:
                await asyncio.gather(*running.values())
                return
            asleep = time.monotonic()
            await asyncio.sleep(pause)
            blocked = time.monotonic() - asleep - pause
            if blocked > BLOCKED_SECONDS:  # CPU-bound work in a job delays every job's start
                log.warning("worker event loop blocked for %.1f s", blocked)
    finally:
        for task in running.values():
            task.cancel()
        await asyncio.gather(*running.values(), return_exceptions=True)
