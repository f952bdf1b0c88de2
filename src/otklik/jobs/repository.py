"""Every statement on ``job_schedule`` and ``job_runs``.

The claim is one statement: it inserts a job the table has not seen (due now, so it is claimed
at once) or moves a due job's ``next_due`` on to the first start of its period grid after now
(``next_due`` plus a whole number of intervals: a late claim does not shift the periods that
follow, and a period missed altogether is not run twice), and returns a row only to the worker
that did it. Two workers racing for the same row serialize on its lock; the second then
sees the moved ``next_due`` and gets nothing. So a job starts at most once per interval across
every worker on every host.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.jobs.models import JobRun
from otklik.jobs.service import KEEP_DAYS, Run
from otklik.kit.pagination import Page, PageParams, paginate

CLAIM = text(
    """
    INSERT INTO job_schedule (name, interval_seconds, next_due, last_started_at, last_worker)
    VALUES (:name, :interval, now() + make_interval(secs => :interval), now(), :worker)
    ON CONFLICT (name) DO UPDATE SET
      interval_seconds = EXCLUDED.interval_seconds,
      next_due = job_schedule.next_due + make_interval(secs => EXCLUDED.interval_seconds
        * (floor(extract(epoch FROM now() - job_schedule.next_due) / EXCLUDED.interval_seconds)
           + 1)),
      last_started_at = EXCLUDED.last_started_at,
      last_worker = EXCLUDED.last_worker
    WHERE job_schedule.next_due <= now()
    RETURNING next_due - make_interval(secs => interval_seconds) AS due
    """
)
RETRY = text(
    """
    UPDATE job_schedule SET next_due = least(next_due, now() + make_interval(secs => :seconds))
    WHERE name = :name
    """
)
NOT_DUE = text("SELECT name FROM job_schedule WHERE next_due > now()")
RECORD = text(
    """
    INSERT INTO job_runs (job, worker, scheduled_at, started_at, finished_at, duration_ms, done,
                          failed, error, error_detail)
    VALUES (:job, :worker, :scheduled_at, :started_at, :finished_at, :duration_ms, :done,
            :failed, :error, :error_detail)
    """
)
PRUNE = text(
    """
    DELETE FROM job_runs WHERE id IN (
      SELECT id FROM job_runs WHERE started_at < now() - make_interval(days => :days)
      ORDER BY started_at LIMIT :batch)
    """
)
STATES = text(
    """
    SELECT s.name, s.next_due, s.last_started_at, s.last_worker,
           r.duration_ms, r.done, r.failed, r.error,
           (SELECT count(*) FROM job_runs f WHERE f.job = s.name AND f.failed
              AND f.started_at > now() - interval '24 hours') AS failures
    FROM job_schedule s
    LEFT JOIN LATERAL (
      SELECT duration_ms, done, failed, error FROM job_runs
      WHERE job = s.name ORDER BY started_at DESC LIMIT 1) r ON true
    """
)


@dataclass(frozen=True)
class JobState:
    """A job's row of the administrator's table: the schedule and its last recorded run."""

    name: str
    next_due: datetime
    last_started_at: datetime | None
    last_worker: str | None
    duration_ms: int | None
    done: int | None
    failed: bool | None
    error: str | None
    failures: int


async def not_due(session: AsyncSession) -> set[str]:
    """Jobs some worker has already started this period (a cheap read before any claim)."""
    return set((await session.scalars(NOT_DUE)).all())


async def claim(session: AsyncSession, name: str, interval: int, worker: str) -> datetime | None:
    """Take this period's run of ``name``: when the period began (the run was due) for exactly
    one caller per period, None for the others."""
    row = await session.execute(CLAIM, {"name": name, "interval": interval, "worker": worker})
    due: datetime | None = row.scalar()
    return due


async def retry_soon(session: AsyncSession, name: str, seconds: int) -> None:
    """Bring a failed job's next start forward to ``seconds`` from now (if it is later)."""
    await session.execute(RETRY, {"name": name, "seconds": seconds})


async def record(session: AsyncSession, run: Run) -> None:
    await session.execute(
        RECORD,
        {
            "job": run.job,
            "worker": run.worker,
            "scheduled_at": run.scheduled_at,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "duration_ms": run.duration_ms,
            "done": run.done,
            "failed": run.failed,
            "error": run.error,
            "error_detail": run.error_detail,
        },
    )


async def prune(session: AsyncSession, *, days: int = KEEP_DAYS, batch: int = 10_000) -> int:
    """Delete up to ``batch`` runs older than ``days``; the count deleted."""
    result = await session.execute(PRUNE, {"days": days, "batch": batch})
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def states(session: AsyncSession) -> dict[str, JobState]:
    rows = await session.execute(STATES)
    return {r.name: JobState(**r._asdict()) for r in rows}


def _history(job: str, failed_only: bool) -> Select[JobRun]:
    stmt = select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc())
    if job:
        stmt = stmt.where(JobRun.job == job)
    if failed_only:
        stmt = stmt.where(JobRun.failed)
    return stmt


async def history(
    session: AsyncSession, params: PageParams, *, job: str = "", failed_only: bool = False
) -> Page[JobRun]:
    """Runs newest first, of one job or all, of failures only or all."""
    items, total = await paginate(session, _history(job, failed_only), params)
    return Page(items=items, total=total, params=params)
