"""Every query of the reports domain: report rows, the queue, and where a unit lies.

Figures are never read here: a report's figures come from the indicators service (and the
other domains' services), with their disclosure rules.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from otklik.kit.pagination import PageParams, paginate
from otklik.kit.scope import Scope, ScopeColumns, apply_scope
from otklik.registry.models import Founder, Organization
from otklik.reports.models import Report

SCOPE_COLS = ScopeColumns(
    Report.organization_id,  # type: ignore[arg-type]
    Report.region_code,  # type: ignore[arg-type]
    Report.founder_id,  # type: ignore[arg-type]
)
STALE = timedelta(minutes=15)  # a running report untouched this long was left by a dead worker
# people's orders before the scheduled sweep; the country, regions and founders before
# organizations (the sweep queues hundreds of those)
KIND_ORDER = case(
    {"country": 0, "region": 1, "founder": 2, "organization": 3}, value=Report.unit_kind, else_=4
)
ORIGIN_ORDER = case((Report.origin == "schedule", 1), else_=0)


async def add(session: AsyncSession, **values: Any) -> Report:
    report = Report(id=uuid.uuid4(), **values)
    session.add(report)
    await session.flush()
    return report


async def add_scheduled(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Queue the scheduled reports not queued before (one per unit, quarter and format)."""
    if not rows:
        return 0
    stmt = (
        pg_insert(Report)
        .values([{"id": uuid.uuid4(), "origin": "schedule", **r} for r in rows])
        .on_conflict_do_nothing(
            index_elements=["unit_kind", "unit_key", "period", "format"],
            index_where=Report.origin == "schedule",
        )
        .returning(Report.id)
    )
    return len((await session.execute(stmt)).all())


async def claim(session: AsyncSession, now: datetime) -> Report | None:
    """The oldest queued report (or one a dead worker left running), locked for this worker."""
    stmt = (
        select(Report)
        .where(
            or_(
                Report.status == "queued",
                (Report.status == "running") & (Report.started_at < now - STALE),
            )
        )
        .order_by(ORIGIN_ORDER, KIND_ORDER, Report.created_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    report = (await session.scalars(stmt)).first()
    if report is not None:
        report.status, report.started_at, report.progress = "running", now, 0
        report.stage, report.error = "начато", None
        await session.flush()
    return report


async def set_progress(session: AsyncSession, report_id: uuid.UUID, pct: int, stage: str) -> None:
    await session.execute(
        update(Report).where(Report.id == report_id).values(progress=pct, stage=stage)
    )


async def finish(
    session: AsyncSession, report_id: uuid.UUID, content: bytes, sha256: str, methodology: str,
    now: datetime,
) -> None:  # fmt: skip
    await session.execute(
        update(Report)
        .where(Report.id == report_id)
        .values(
            status="done",
            progress=100,
            stage="готово",
            content=content,
            size=len(content),
            sha256=sha256,
            methodology=methodology,
            finished_at=now,
            error=None,
        )
    )


async def fail(session: AsyncSession, report_id: uuid.UUID, error: str, now: datetime) -> None:
    await session.execute(
        update(Report)
        .where(Report.id == report_id)
        .values(status="failed", stage="ошибка", error=error[:1000], finished_at=now)
    )


async def listing(
    session: AsyncSession, scope: Scope, params: PageParams, status: str | None
) -> tuple[list[Report], int]:
    stmt = apply_scope(select(Report), scope, SCOPE_COLS)
    if status:
        stmt = stmt.where(Report.status == status)
    stmt = stmt.order_by(
        Report.period.desc(), KIND_ORDER, Report.unit_name, Report.format, Report.created_at.desc()
    )
    return await paginate(session, stmt, params)


async def get(
    session: AsyncSession, scope: Scope, report_id: uuid.UUID, *, content: bool = False
) -> Report | None:
    stmt = apply_scope(select(Report).where(Report.id == report_id), scope, SCOPE_COLS)
    if content:
        stmt = stmt.options(undefer(Report.content))
    return (await session.scalars(stmt)).first()


async def organization_place(session: AsyncSession, org_id: int) -> tuple[str, int] | None:
    row = (
        await session.execute(
            select(Organization.region_code, Organization.founder_id).where(
                Organization.id == org_id
            )
        )
    ).first()
    return (str(row[0]), int(row[1])) if row else None


async def organization_keys(session: AsyncSession, ids: Sequence[int]) -> dict[int, str]:
    """OGRN by organization id."""
    rows = await session.execute(
        select(Organization.id, Organization.ogrn).where(Organization.id.in_(list(ids)))
    )
    return {int(i): str(o) for i, o in rows.all()}


async def founder_keys(session: AsyncSession, ids: Sequence[int]) -> dict[int, str]:
    """Founder code by founder id."""
    rows = await session.execute(select(Founder.id, Founder.code).where(Founder.id.in_(list(ids))))
    return {int(i): str(c) for i, c in rows.all()}


async def scheduled(session: AsyncSession, period: str, origin: str = "schedule") -> bool:
    """Whether the quarter's scheduled (or demo) reports were queued already (the country's
    is queued first)."""
    stmt = select(Report.id).where(
        Report.origin == origin, Report.period == period, Report.unit_kind == "country"
    )
    return (await session.scalars(stmt.limit(1))).first() is not None
