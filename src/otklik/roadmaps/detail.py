"""One roadmap as the API and the page show it: measures with baseline, forecast, risk and
reasons, the critical path, the timeline. Read-only assembly of repository rows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.models import User
from otklik.roadmaps import repository, risk, service
from otklik.roadmaps.schemas import EventOut, MeasureOut, RoadmapOut, SubjectOut


async def build(session: AsyncSession, user: User, roadmap_id: int, now: datetime) -> RoadmapOut:
    roadmap = await service.visible(session, user, roadmap_id)
    rows = await repository.measures(session, roadmap.id, now)
    deps: dict[int, list[int]] = {}
    for d in await repository.dependencies(session, roadmap.id):
        deps.setdefault(int(d.measure_id), []).append(int(d.depends_on_id))
    crs: dict[int, list[int]] = {}
    for c in await repository.links(session, roadmap.id):
        crs.setdefault(int(c.measure_id), []).append(int(c.change_request_id))
    owner = await repository.user_email(session, roadmap.owner_user_id)
    measures = [
        MeasureOut(
            id=m.id,
            title=m.title,
            owner=r.owner,
            planned_start=m.planned_start,
            planned_due=m.planned_due,
            baseline_start=m.baseline_start,
            baseline_due=m.baseline_due,
            forecast_due=m.forecast_due or m.planned_due,
            progress=m.progress,
            weight=m.weight,
            depends_on=sorted(deps.get(m.id, [])),
            change_requests=crs.get(m.id, []),
            last_report_at=m.last_report_at,
            report_overdue=bool(r.overdue),
            risk=m.risk if roadmap.state in ("active", "completed") else None,
            risk_reasons=risk.reasons(m.risk_factors) if roadmap.state == "active" else [],
        )
        for r in rows
        for m in (r.Measure,)
    ]
    titles = {m.id: m.title for m in measures}
    risks = {m.id: m.risk for m in measures}
    factors = roadmap.risk_factors if roadmap.state in ("active", "completed") else None
    timeline = [
        EventOut(
            at=e.at,
            actor=e.actor_label,
            kind=e.kind,
            measure_id=e.measure_id,
            from_state=e.from_state,
            to_state=e.to_state,
            comment=e.comment,
        )
        for e in await repository.events(session, roadmap.id)
    ]
    return RoadmapOut(
        id=roadmap.id,
        title=roadmap.title,
        state=roadmap.state,
        subject=SubjectOut(kind=roadmap.subject_kind, code=roadmap.subject_code),
        owner=owner or "",
        report_every_days=roadmap.report_every_days,
        risk=roadmap.risk if factors else None,
        risk_reasons=risk.roadmap_reasons(factors, titles, risks),
        critical_path=[int(i) for i in (factors or {}).get("critical_path", [])],
        risk_computed_at=roadmap.risk_computed_at if factors else None,
        measures=measures,
        timeline=timeline,
    )
