"""Every query of the incidents domain; cabinet reads pass through the one scope filter."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, case, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.models import User
from otklik.improvement.repository import notify
from otklik.incidents import detect
from otklik.incidents.models import Incident, IncidentCursor, IncidentEvent, IncidentEvidence
from otklik.incidents.rules import OPEN, WARN_SHARE
from otklik.kit.pagination import PageParams, like_pattern, order_by_param, paginate
from otklik.kit.scope import Scope, ScopeColumns, apply_scope
from otklik.registry.models import Organization, Region

SCOPE_COLS = ScopeColumns(Incident.organization_id, Incident.region_code, Incident.founder_id)  # type: ignore[arg-type]
SORTS: dict[str, Any] = {
    "id": Incident.id,
    "severity": Incident.severity,
    "opened": Incident.opened_at,
    "due": Incident.resolve_due,
    "state": Incident.state,
}


async def detect_batch(session: AsyncSession, now: datetime, batch: int) -> dict[str, int]:
    """Stage new signals, group them by cause, open / reopen incidents and attach evidence."""
    await session.execute(text(detect.STAGE_TABLE))
    await session.execute(text("DELETE FROM incident_staged"))
    await session.execute(text("SET LOCAL jit = off"))  # short statements: compiling costs more
    # the batch's grouping sorts ~10 MB: in memory rather than an external merge on disk
    await session.execute(text("SET LOCAL work_mem = '32MB'"))
    cursor = await session.scalar(
        select(IncidentCursor.position).where(IncidentCursor.name == "signals")
    )
    await session.execute(text(detect.STAGE), {"cursor": cursor or 0, "batch": batch, "now": now})
    # drop signals are staged aggregated (a row per organization, item and day): count signals
    staged = int(await session.scalar(text("SELECT coalesce(sum(n), 0) FROM incident_staged")) or 0)
    if not staged:
        return {"signals": 0, "opened": 0, "reopened": 0}
    # the planner sees the batch's size; only the grouping columns (the jsonb payload's
    # statistics cost more than the grouping itself)
    await session.execute(
        text("ANALYZE incident_staged (cause_key, subject, region_code, organization_id)")
    )
    await session.execute(text(detect.STORM))
    reopened = list((await session.scalars(text(detect.REOPEN), {"now": now})).all())
    opened = list((await session.scalars(text(detect.OPEN_NEW), {"now": now})).all())
    for ids, kind, state in ((opened, "opened", "new"), (reopened, "reopened", "in_progress")):
        if ids:
            await session.execute(
                text(detect.EVENTS), {"ids": ids, "kind": kind, "state": state, "now": now}
            )
    await session.execute(text(detect.ATTACH), {"now": now})
    await session.execute(text(detect.CURSOR))
    await session.execute(text("DELETE FROM incident_staged"))
    return {"signals": staged, "opened": len(opened), "reopened": len(reopened)}


async def check_sla(session: AsyncSession, now: datetime) -> int:
    """Flag warnings (a quarter of a clock left) and breaches; one timeline event each, and an
    e-mail to the incident's owner through improvement's notification outbox (same
    transaction; the ``improvement.send_notifications`` job sends it)."""
    params = {"now": now, "share": WARN_SHARE}
    warned = list((await session.scalars(text(detect.SLA_WARN), params)).all())
    breached = list((await session.scalars(text(detect.SLA_BREACH), {"now": now})).all())
    rows: list[dict[str, Any]] = []
    for ids, subject, body in (
        (warned, "скоро истекает срок", "До конца срока реакции или устранения осталось меньше"
         " четверти времени."),
        (breached, "срок нарушен", "Срок реакции или устранения истёк: инцидент отмечен как"
         " нарушивший срок."),
    ):  # fmt: skip
        if not ids:
            continue
        owned = await session.execute(
            select(Incident.id, Incident.title, Incident.owner_user_id).where(
                Incident.id.in_(ids), Incident.owner_user_id.is_not(None)
            )
        )
        rows += [
            {
                "user_id": owner,
                "subject": f"Инцидент № {i}: {subject}"[:300],
                "text": f"Инцидент «{title}». {body}",
                "link": f"/incidents/{i}",
            }
            for i, title, owner in owned
        ]
    await notify(session, rows)
    return len(warned) + len(breached)


async def get_for_update(session: AsyncSession, scope: Scope, incident_id: int) -> Incident | None:
    stmt = apply_scope(select(Incident).where(Incident.id == incident_id), scope, SCOPE_COLS)
    return (await session.scalars(stmt.with_for_update())).one_or_none()


async def get(session: AsyncSession, scope: Scope, incident_id: int) -> Incident | None:
    stmt = apply_scope(select(Incident).where(Incident.id == incident_id), scope, SCOPE_COLS)
    return (await session.scalars(stmt)).one_or_none()


async def open_with_cause(session: AsyncSession, cause_key: str) -> int | None:
    return await session.scalar(
        select(Incident.id).where(Incident.cause_key == cause_key, Incident.state.in_(OPEN))
    )


def _filtered(scope: Scope, state: str | None, severity: int | None, q: str) -> Any:
    stmt = (
        select(
            Incident,
            Organization.short_name.label("organization"),
            Region.timezone.label("timezone"),
        )
        .outerjoin(Organization, Organization.id == Incident.organization_id)
        .outerjoin(Region, Region.code == Incident.region_code)
    )
    stmt = apply_scope(stmt, scope, SCOPE_COLS)
    if state == "open":
        stmt = stmt.where(Incident.state.in_(OPEN))
    elif state:
        stmt = stmt.where(Incident.state == state)
    if severity:
        stmt = stmt.where(Incident.severity == severity)
    if q:
        pattern = like_pattern(q)
        stmt = stmt.where(or_(Incident.title.ilike(pattern), Incident.subject.ilike(pattern)))
    return stmt


async def listing(
    session: AsyncSession,
    scope: Scope,
    params: PageParams,
    state: str | None,
    severity: int | None,
) -> tuple[list[Row[Any]], int, str]:
    stmt = _filtered(scope, state, severity, params.q)
    stmt, sort = order_by_param(stmt, params.sort, SORTS, "-id")
    stmt = stmt.order_by(Incident.id.desc())
    rows, total = await paginate(session, stmt, params, scalars=False)
    return rows, total, sort


async def all_rows(
    session: AsyncSession, scope: Scope, state: str | None, severity: int | None, q: str
) -> list[Row[Any]]:
    stmt = _filtered(scope, state, severity, q).order_by(Incident.id.desc()).limit(100_000)
    return list((await session.execute(stmt)).all())


async def evidence(
    session: AsyncSession, incident_ids: Sequence[int], per_incident: int = 50
) -> dict[int, list[IncidentEvidence]]:
    ranked = (
        select(
            IncidentEvidence,
            func.row_number()
            .over(
                partition_by=IncidentEvidence.incident_id,
                order_by=(IncidentEvidence.observed_at.desc(), IncidentEvidence.id.desc()),
            )
            .label("rn"),
        )
        .where(IncidentEvidence.incident_id.in_(list(incident_ids)))
        .subquery()
    )
    from sqlalchemy.orm import aliased

    ev = aliased(IncidentEvidence, ranked)
    rows = (await session.scalars(select(ev).where(ranked.c.rn <= per_incident))).all()
    out: dict[int, list[IncidentEvidence]] = {i: [] for i in incident_ids}
    for r in rows:
        out[r.incident_id].append(r)
    return out


async def timeline(session: AsyncSession, incident_id: int) -> list[IncidentEvent]:
    stmt = (
        select(IncidentEvent)
        .where(IncidentEvent.incident_id == incident_id)
        .order_by(IncidentEvent.at, IncidentEvent.id)
    )
    return list((await session.scalars(stmt)).all())


async def add_event(session: AsyncSession, **values: Any) -> None:
    session.add(IncidentEvent(**values))
    await session.flush()


async def organization_place(session: AsyncSession, scope: Scope, organization_id: int) -> Any:
    stmt = apply_scope(
        select(Organization.id, Organization.region_code, Organization.founder_id).where(
            Organization.id == organization_id
        ),
        scope,
        ScopeColumns(Organization.id, Organization.region_code, Organization.founder_id),
    )
    row = (await session.execute(stmt)).one_or_none()
    return row


async def board(session: AsyncSession, scope: Scope, now: datetime) -> dict[str, list[Row[Any]]]:
    """Open incidents by severity and age; SLA status; MTTA / MTTR per owner and month."""
    age = func.extract("epoch", now - Incident.opened_at) / 86400
    bucket = case(
        (age < 1, "до 1 дня"),
        (age < 3, "1–3 дня"),
        (age < 10, "3–10 дней"),
        else_="больше 10 дней",
    )
    base: Any = apply_scope(
        select(Incident.severity, bucket.label("bucket"), func.count(), func.max(age))
        .where(Incident.state.in_(OPEN))
        .group_by(Incident.severity, text("2"))
        .order_by(Incident.severity),
        scope,
        SCOPE_COLS,
    )
    status = case(
        (Incident.ack_breached | Incident.resolve_breached, "нарушен"),
        (Incident.paused_at.is_not(None), "часы остановлены"),
        (Incident.ack_warned | Incident.resolve_warned, "предупреждение"),
        else_="в срок",
    )
    sla_stmt: Any = apply_scope(
        select(status.label("status"), func.count())
        .where(Incident.state.in_(OPEN))
        .group_by(text("1"))
        .order_by(text("1")),
        scope,
        SCOPE_COLS,
    )
    month = func.to_char(func.timezone("Europe/Moscow", Incident.opened_at), "YYYY-MM")
    hours = 3600.0
    mtt = apply_scope(
        select(
            User.email.label("owner"),
            month.label("month"),
            func.count(Incident.acknowledged_at).label("n_ack"),
            (
                func.avg(func.extract("epoch", Incident.acknowledged_at - Incident.opened_at))
                / hours
            ).label("mtta"),
            func.count(Incident.resolved_at).label("n_res"),
            (
                func.avg(func.extract("epoch", Incident.resolved_at - Incident.opened_at)) / hours
            ).label("mttr"),
        )
        .join(User, User.id == Incident.owner_user_id)
        .group_by(User.email, text("2"))
        .order_by(text("2 DESC"), User.email),
        scope,
        SCOPE_COLS,
    )
    return {
        "age": list((await session.execute(base)).all()),
        "sla": list((await session.execute(sla_stmt)).all()),
        "mtt": list((await session.execute(mtt)).all()),
    }


async def region_timezone(session: AsyncSession, region_code: str | None) -> str | None:
    if region_code is None:
        return None
    tz: str | None = await session.scalar(select(Region.timezone).where(Region.code == region_code))
    return tz
