"""Roadmap API: list, detail with measures' risk, create, transitions, progress reports."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from otklik.identity.deps import DB, require_roles
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.identity.service import scope_of
from otklik.indicators.repository import MOSCOW
from otklik.intake.schemas import ErrorOut
from otklik.kit.pagination import PageParams
from otklik.roadmaps import detail, repository, service
from otklik.roadmaps.schemas import (
    ReplanIn,
    ReportIn,
    RoadmapIn,
    RoadmapOut,
    RoadmapPageOut,
    RoadmapSummaryOut,
    StateOut,
    SubjectOut,
    TransitionIn,
)

router = APIRouter(prefix="/api/v1", tags=["roadmaps"])
READERS = (
    Role.participant,
    Role.analyst,
    Role.coordinator,
    Role.wg_secretary,
    Role.subcommission_secretary,
    Role.portal_operator,
    Role.regional_authority,
    Role.federal_authority,
    Role.admin,
)
Reader = Annotated[User, Depends(require_roles(*READERS, api=True))]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "unauthorized, invalid_token"},
    403: {"model": ErrorOut, "description": "forbidden (role may not do this)"},
    404: {"model": ErrorOut, "description": "not_found (or outside your scope)"},
    409: {"model": ErrorOut, "description": "transition_not_allowed"},
    422: {"model": ErrorOut, "description": "validation_failed (field, Russian message)"},
}


def _now() -> datetime:
    return datetime.now(UTC)


@router.get(
    "/roadmaps",
    response_model=RoadmapPageOut,
    responses=ERRORS,
    summary="Дорожные карты в вашей области доступа",
)
async def list_roadmaps(
    session: DB,
    user: Reader,
    state: Annotated[str, Query(max_length=30)] = "",
    risk: Annotated[str, Query(pattern="^(|high|low)$")] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    sort: Annotated[str, Query(max_length=40)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> RoadmapPageOut:
    params = PageParams.parse(page, per_page, sort, q)
    rows, total, _ = await repository.list_roadmaps(
        session, scope_of(user), params, state=state, risk=risk
    )
    items = [
        RoadmapSummaryOut(
            id=r.id,
            title=r.title,
            state=r.state,
            subject=SubjectOut(kind=r.subject_kind, code=r.subject_code),
            owner=r.owner,
            measures=r.measures,
            due=r.due,
            risk=r.risk if r.state in ("active", "completed") else None,
        )
        for r in rows
    ]
    return RoadmapPageOut(items=items, total=total)


@router.get(
    "/roadmaps/{roadmap_id}",
    response_model=RoadmapOut,
    responses=ERRORS,
    summary="Дорожная карта: мероприятия, базовый план, прогноз, риск срыва сроков",
)
async def get_roadmap(session: DB, user: Reader, roadmap_id: int) -> RoadmapOut:
    return await detail.build(session, user, roadmap_id, _now())


@router.post(
    "/roadmaps",
    response_model=RoadmapOut,
    status_code=201,
    responses=ERRORS,
    summary="Создать дорожную карту (черновик)",
)
async def create_roadmap(session: DB, user: Reader, body: RoadmapIn) -> RoadmapOut:
    roadmap = await service.create(session, user, body, _now())
    return await detail.build(session, user, roadmap.id, _now())


@router.post(
    "/roadmaps/{roadmap_id}/transitions",
    response_model=StateOut,
    responses=ERRORS,
    summary="Перевести дорожную карту в другое состояние",
)
async def transition(session: DB, user: Reader, roadmap_id: int, body: TransitionIn) -> StateOut:
    roadmap = await service.transition(session, user, roadmap_id, body.to, body.comment, _now())
    return StateOut(id=roadmap.id, state=roadmap.state)


@router.post(
    "/roadmaps/{roadmap_id}/measures/{measure_id}/reports",
    response_model=RoadmapOut,
    status_code=201,
    responses=ERRORS,
    summary="Отчёт о ходе выполнения мероприятия (владелец мероприятия)",
)
async def report(
    session: DB, user: Reader, roadmap_id: int, measure_id: int, body: ReportIn
) -> RoadmapOut:
    now = _now()
    await service.report(
        session, user, roadmap_id, measure_id, body, now, now.astimezone(MOSCOW).date()
    )
    return await detail.build(session, user, roadmap_id, now)


@router.post(
    "/roadmaps/{roadmap_id}/measures/{measure_id}/plan",
    response_model=RoadmapOut,
    responses=ERRORS,
    summary="Перепланировать мероприятие (базовый план сохраняется)",
)
async def replan(
    session: DB, user: Reader, roadmap_id: int, measure_id: int, body: ReplanIn
) -> RoadmapOut:
    await service.replan(session, user, roadmap_id, measure_id, body, _now())
    return await detail.build(session, user, roadmap_id, _now())
