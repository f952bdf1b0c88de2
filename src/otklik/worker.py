"""The background worker: runs the jobs of ``schedule.py`` when they are due.

Any number of workers share one schedule (``otklik/jobs``): before running a job a worker
claims its period in the database, so a job starts once per interval across them all.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

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


async def run_due(
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    drain_seconds: float = DRAIN_SECONDS,
    schedule: Sequence[Periodic] = SCHEDULE,
) -> dict[str, int]:
    """Run each job whose period this worker claims, each batch in its own transaction.

    A job that did something runs again at once, for at most ``drain_seconds``. A job that
    fails is logged (rate-limited), counted and written to the history, and is tried again
    after a minute (or its interval, if shorter); the others still run.
    Raises the last failure when every job this worker tried failed (the database is down,
    say), so the caller backs off. Returns what each job this worker ran did.
    """
    async with transaction(factory) as session:
        waiting = await jobs.not_due(session)
    worker = worker_id()
    done: dict[str, int] = {}
    tried = 0
    failures: list[Exception] = []
    for entry in schedule:
        if entry.name in waiting:
            continue
        tried += 1
        try:
            async with transaction(factory) as session:
                if not await jobs.claim(session, entry.name, entry.interval, worker):
                    tried -= 1  # another worker has this period
                    continue
        except Exception as exc:
            failures.append(exc)
            log.warning("job not claimed", exc_info=True, extra={"job": entry.name})
            continue
        failure = await _run(factory, settings, entry, worker, drain_seconds, done)
        if failure is not None:
            failures.append(failure)
    if failures and len(failures) == tried:
        raise failures[-1]
    metrics.worker_cycle_done(time.time())
    return done


async def _run(
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    entry: Periodic,
    worker: str,
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
            worker=worker,
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
    factory: async_sessionmaker[AsyncSession], settings: Settings, *, once: bool = False
) -> None:
    """Cycle every second; after a cycle where everything failed, wait longer (up to 30 s)."""
    pause = 1.0
    while True:
        try:
            await run_due(factory, settings)
            pause = 1.0
        except Exception:
            pause = min(pause * 2, MAX_BACKOFF_SECONDS)
            log.warning("worker cycle failed; retrying in %.0f s", pause, exc_info=True)
        if once:
            return
        await asyncio.sleep(pause)
