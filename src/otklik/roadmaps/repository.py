"""Every roadmap query. Reads made for a cabinet user pass the one scope filter."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Row,
    and_,
    delete,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy import cast as sa_cast
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.models import User
from otklik.improvement.models import ChangeRequest
from otklik.kit.pagination import PageParams, like_pattern, order_by_param, paginate
from otklik.kit.scope import Scope, ScopeColumns, apply_scope
from otklik.registry.models import LifeSituation, Service
from otklik.roadmaps.models import (
    Measure,
    MeasureChangeRequest,
    MeasureDependency,
    MeasureReport,
    RiskAlert,
    Roadmap,
    RoadmapEvent,
)

# nullable: a national roadmap (all three null) is seen by country scopes only
SCOPE_COLUMNS = ScopeColumns(
    organization_id=cast("ColumnElement[int]", Roadmap.organization_id),
    region_code=cast("ColumnElement[str]", Roadmap.region_code),
    founder_id=cast("ColumnElement[int]", Roadmap.founder_id),
)
HIGH_RISK = 0.5


def _last_report() -> ColumnElement[datetime]:
    started = func.greatest(Roadmap.activated_at, cast_ts(Measure.planned_start))
    return func.coalesce(Measure.last_report_at, started)


def cast_ts(column: Any) -> ColumnElement[datetime]:
    return sa_cast(column, DateTime(timezone=True))


def report_overdue(now: datetime) -> ColumnElement[bool]:
    """A measure of an active roadmap whose next progress report is late (reports are due
    every ``report_every_days`` from the measure's start, or from activation if later)."""
    last = _last_report()
    return and_(
        Roadmap.state == "active",
        Measure.progress < 100,
        last + func.make_interval(0, 0, 0, Roadmap.report_every_days) < now,
    )


async def subject_name(session: AsyncSession, kind: str, code: str) -> str | None:
    table = Service if kind == "service" else LifeSituation
    return await session.scalar(select(table.name).where(table.code == code))


async def users_by_email(session: AsyncSession, emails: Sequence[str]) -> dict[str, User]:
    rows = await session.scalars(select(User).where(func.lower(User.email).in_(emails)))
    return {u.email.lower(): u for u in rows}


async def user_email(session: AsyncSession, user_id: int) -> str | None:
    return await session.scalar(select(User.email).where(User.id == user_id))


async def add(session: AsyncSession, *objects: Any) -> None:
    session.add_all(objects)
    await session.flush()


async def lock_draft(session: AsyncSession, roadmap_id: int) -> bool:
    """Lock the roadmap's row if it is a draft (False when it is not, or not any more)."""
    found = await session.scalar(
        select(Roadmap.id)
        .where(Roadmap.id == roadmap_id, Roadmap.state == "draft")
        .with_for_update()
    )
    return found is not None


async def drop_measures(session: AsyncSession, roadmap_id: int) -> None:
    """A draft's measures (their dependencies and links go with them, ON DELETE CASCADE)."""
    await session.execute(
        delete(Measure).where(Measure.roadmap_id == roadmap_id),
        execution_options={"synchronize_session": False},
    )


async def add_dependencies(session: AsyncSession, pairs: Sequence[tuple[int, int]]) -> None:
    if pairs:
        session.add_all(MeasureDependency(measure_id=a, depends_on_id=b) for a, b in pairs)
        await session.flush()


async def visible_change_requests(
    session: AsyncSession, scope: Scope, ids: Sequence[int]
) -> set[int]:
    cols = ScopeColumns(
        organization_id=cast("ColumnElement[int]", ChangeRequest.organization_id),
        region_code=cast("ColumnElement[str]", ChangeRequest.region_code),
        founder_id=cast("ColumnElement[int]", ChangeRequest.founder_id),
    )
    stmt = apply_scope(select(ChangeRequest.id).where(ChangeRequest.id.in_(ids)), scope, cols)
    return {int(i) for i in await session.scalars(stmt)}


async def add_links(session: AsyncSession, pairs: Sequence[tuple[int, int]]) -> None:
    if pairs:
        session.add_all(MeasureChangeRequest(measure_id=a, change_request_id=b) for a, b in pairs)
        await session.flush()


async def links(session: AsyncSession, roadmap_id: int) -> Sequence[Any]:
    stmt = (
        select(MeasureChangeRequest.measure_id, MeasureChangeRequest.change_request_id)
        .join(Measure, Measure.id == MeasureChangeRequest.measure_id)
        .where(Measure.roadmap_id == roadmap_id)
        .order_by(MeasureChangeRequest.change_request_id)
    )
    return (await session.execute(stmt)).all()


async def visible_roadmap(session: AsyncSession, scope: Scope, roadmap_id: int) -> Roadmap | None:
    stmt = apply_scope(select(Roadmap).where(Roadmap.id == roadmap_id), scope, SCOPE_COLUMNS)
    return await session.scalar(stmt)


async def move_state(
    session: AsyncSession, roadmap_id: int, source: str, target: str, now: datetime
) -> bool:
    """Compare-and-set: of two concurrent transitions from the same state exactly one wins."""
    values: dict[str, Any] = {"state": target, "updated_at": now}
    if target == "subcommission_approved":
        values["approved_at"] = now
    if target == "active":
        values["activated_at"] = now
    result = await session.execute(
        update(Roadmap)
        .where(Roadmap.id == roadmap_id, Roadmap.state == source)
        .values(**values)
        .returning(Roadmap.id)
    )
    return result.scalar() is not None


async def take_baseline(session: AsyncSession, roadmap_id: int) -> None:
    """Keep the approved plan: re-planning later moves planned dates, never these."""
    await session.execute(
        update(Measure)
        .where(Measure.roadmap_id == roadmap_id)
        .values(baseline_start=Measure.planned_start, baseline_due=Measure.planned_due)
    )


async def unfinished_measures(session: AsyncSession, roadmap_id: int) -> int:
    stmt = select(func.count()).where(Measure.roadmap_id == roadmap_id, Measure.progress < 100)
    return int(await session.scalar(stmt) or 0)


async def measures(session: AsyncSession, roadmap_id: int, now: datetime) -> Sequence[Any]:
    stmt = (
        select(Measure, User.email.label("owner"), report_overdue(now).label("overdue"))
        .join(User, User.id == Measure.owner_user_id)
        .join(Roadmap, Roadmap.id == Measure.roadmap_id)
        .where(Measure.roadmap_id == roadmap_id)
        .order_by(Measure.position)
    )
    return (await session.execute(stmt)).all()


async def measure_of(session: AsyncSession, roadmap_id: int, measure_id: int) -> Measure | None:
    return await session.scalar(
        select(Measure)
        .where(Measure.id == measure_id, Measure.roadmap_id == roadmap_id)
        .with_for_update()
    )


async def dependencies(session: AsyncSession, roadmap_id: int) -> Sequence[Any]:
    stmt = (
        select(MeasureDependency.measure_id, MeasureDependency.depends_on_id)
        .join(Measure, Measure.id == MeasureDependency.measure_id)
        .where(Measure.roadmap_id == roadmap_id)
    )
    return (await session.execute(stmt)).all()


async def events(session: AsyncSession, roadmap_id: int) -> Sequence[RoadmapEvent]:
    stmt = (
        select(RoadmapEvent)
        .where(RoadmapEvent.roadmap_id == roadmap_id)
        .order_by(RoadmapEvent.at, RoadmapEvent.id)
    )
    return (await session.scalars(stmt)).all()


async def reports(session: AsyncSession, measure_id: int) -> Sequence[MeasureReport]:
    stmt = (
        select(MeasureReport)
        .where(MeasureReport.measure_id == measure_id)
        .order_by(MeasureReport.reported_at.desc(), MeasureReport.id.desc())
    )
    return (await session.scalars(stmt)).all()


def _summary() -> Any:
    n = (
        select(func.count())
        .where(Measure.roadmap_id == Roadmap.id)
        .correlate(Roadmap)
        .scalar_subquery()
    )
    due = (
        select(func.max(func.coalesce(Measure.forecast_due, Measure.planned_due)))
        .where(Measure.roadmap_id == Roadmap.id)
        .correlate(Roadmap)
        .scalar_subquery()
    )
    return select(
        Roadmap.id,
        Roadmap.title,
        Roadmap.state,
        Roadmap.subject_kind,
        Roadmap.subject_code,
        User.email.label("owner"),
        n.label("measures"),
        due.label("due"),
        Roadmap.risk,
        Roadmap.updated_at,
    ).join(User, User.id == Roadmap.owner_user_id)


async def list_roadmaps(
    session: AsyncSession,
    scope: Scope,
    params: PageParams,
    *,
    state: str = "",
    risk: str = "",
    limit: int | None = None,
) -> tuple[list[Row[Any]], int, str]:
    stmt = apply_scope(_summary(), scope, SCOPE_COLUMNS)
    if params.q:
        pattern = like_pattern(params.q)
        stmt = stmt.where(or_(Roadmap.title.ilike(pattern), Roadmap.subject_code.ilike(pattern)))
    if state:
        stmt = stmt.where(Roadmap.state == state)
    if risk == "high":
        stmt = stmt.where(Roadmap.risk >= HIGH_RISK)
    elif risk == "low":
        stmt = stmt.where(or_(Roadmap.risk < HIGH_RISK, Roadmap.risk.is_(None)))
    columns: dict[str, Any] = {
        "title": Roadmap.title,
        "state": Roadmap.state,
        "risk": func.coalesce(Roadmap.risk, literal(-1.0)),
        "updated": Roadmap.updated_at,
        "id": Roadmap.id,
    }
    stmt, sort = order_by_param(stmt, params.sort, columns, "-risk")
    stmt = stmt.order_by(Roadmap.id)
    if limit is not None:
        rows = list((await session.execute(stmt.limit(limit))).all())
        return rows, len(rows), sort
    items, total = await paginate(session, stmt, params, scalars=False)
    return items, total, sort


async def due_reports(session: AsyncSession, user_id: int, now: datetime) -> Sequence[Any]:
    """The user's measures in active roadmaps with the date the next report is due."""
    last = _last_report()
    next_due = last + func.make_interval(0, 0, 0, Roadmap.report_every_days)
    stmt = (
        select(
            Measure.id,
            Measure.title,
            Measure.roadmap_id,
            Roadmap.title.label("roadmap"),
            next_due.label("next_due"),
            report_overdue(now).label("overdue"),
        )
        .join(Roadmap, Roadmap.id == Measure.roadmap_id)
        .where(
            Measure.owner_user_id == user_id,
            Roadmap.state == "active",
            Measure.progress < 100,
        )
        .order_by(next_due, Measure.id)
        .limit(100)
    )
    return (await session.execute(stmt)).all()


async def alerts(session: AsyncSession, user_id: int, limit: int = 20) -> Sequence[Any]:
    stmt = (
        select(
            RiskAlert.id,
            RiskAlert.created_at,
            RiskAlert.risk_before,
            RiskAlert.risk_after,
            RiskAlert.roadmap_id,
            Measure.title,
            RiskAlert.read_at,
        )
        .join(Measure, Measure.id == RiskAlert.measure_id)
        .where(RiskAlert.user_id == user_id)
        .order_by(RiskAlert.created_at.desc(), RiskAlert.id.desc())
        .limit(limit)
    )
    return (await session.execute(stmt)).all()
