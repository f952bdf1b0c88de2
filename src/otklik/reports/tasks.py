"""The periodic jobs of reports (listed in ``schedule.py``)."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.errors import DomainError
from otklik.kit.clock import moscow_date, now_utc
from otklik.reports import repository, service

log = logging.getLogger("otklik.reports")


async def queue_quarterly(session: AsyncSession, settings: Settings) -> int:
    """At a quarter's end: queue the finished quarter's reports for every unit with answers."""
    return await service.schedule_quarter(session, moscow_date())


async def build_reports(session: AsyncSession, settings: Settings) -> int:
    """Build one queued report. The claim is committed first, so its page shows it running;
    progress is written in its own short transactions while the figures are read in this one."""
    report = await repository.claim(session, now_utc())
    if report is None:
        return 0
    report_id = report.id
    await session.commit()
    bind = session.bind

    async def progress(pct: int, stage: str) -> None:
        async with AsyncSession(bind) as s, s.begin():
            await repository.set_progress(s, report_id, pct, stage)

    try:
        await service.build(session, report, progress)
    except DomainError as exc:
        await session.rollback()
        await repository.fail(session, report_id, exc.message, now_utc())
    except Exception:  # a report must never stay "running": record the failure, log the cause
        log.exception("report %s failed", report_id)
        await session.rollback()
        await repository.fail(
            session, report_id, "Внутренняя ошибка при составлении отчёта.", now_utc()
        )
    return 1
