"""The background worker: runs the jobs of ``schedule.py`` when they are due."""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otklik.config import Settings
from otklik.db import transaction
from otklik.kit import metrics
from otklik.schedule import SCHEDULE

log = logging.getLogger("otklik.worker")


DRAIN_SECONDS = 5.0
MAX_BACKOFF_SECONDS = 30.0


async def run_due(
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    last_run: dict[str, float],
    *,
    drain_seconds: float = DRAIN_SECONDS,
) -> dict[str, int]:
    """Run each job whose interval has passed, each batch in its own transaction.

    A job that did something runs again at once, for at most ``drain_seconds``. A job that
    fails is logged (rate-limited) and counted; the others still run. Raises the last failure
    when every job that was due failed (the database is down, say), so the caller backs off.
    """
    done: dict[str, int] = {}
    now = time.monotonic()
    failures: list[Exception] = []
    for name, interval, job in SCHEDULE:
        if name in last_run and now - last_run[name] < interval:
            continue
        done[name] = 0
        started = time.monotonic()
        try:
            while True:
                async with transaction(factory) as session:
                    n = await job(session, settings)
                done[name] += n
                if n == 0 or time.monotonic() - started > drain_seconds:
                    break
        except Exception as exc:
            failures.append(exc)
            metrics.job_ran(name, done[name], failed=True)
            log.warning("job failed", exc_info=True, extra={"job": name})
            continue
        last_run[name] = now
        metrics.job_ran(name, done[name])
        if done[name]:
            log.info("job %s done: %s", name, done[name], extra={"job": name, "count": done[name]})
    if failures and len(failures) == len(done):
        raise failures[-1]
    metrics.worker_cycle_done(time.time())
    return done


async def run_forever(
    factory: async_sessionmaker[AsyncSession], settings: Settings, *, once: bool = False
) -> None:
    """Cycle every second; after a cycle where everything failed, wait longer (up to 30 s)."""
    last_run: dict[str, float] = {}
    pause = 1.0
    while True:
        try:
            await run_due(factory, settings, last_run)
            pause = 1.0
        except Exception:
            pause = min(pause * 2, MAX_BACKOFF_SECONDS)
            log.warning("worker cycle failed; retrying in %.0f s", pause, exc_info=True)
        if once:
            return
        await asyncio.sleep(pause)
