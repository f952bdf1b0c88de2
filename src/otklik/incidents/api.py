"""Incidents API: list, detail, open by hand, transitions, subcommission decision, review."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from otklik.errors import NotFound
from otklik.identity.audit import Actor
from otklik.identity.deps import DB, require_roles
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.identity.service import now_utc, scope_of
from otklik.incidents import repository, service
from otklik.incidents.schemas import (
    DecisionIn,
    IncidentIn,
    IncidentList,
    IncidentOut,
    OwnerIn,
    ReviewIn,
    TransitionIn,
)
from otklik.intake.schemas import ErrorOut
from otklik.kit.pagination import PageParams

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])
READERS = (
    Role.organization,
    Role.regional_authority,
    Role.federal_authority,
    Role.coordinator,
    Role.analyst,
    Role.participant,
    Role.subcommission_secretary,
    Role.admin,
)
ACTORS = tuple(r for r in READERS if r not in (Role.analyst, Role.subcommission_secretary))
Reader = Annotated[User, Depends(require_roles(*READERS, api=True))]
Worker = Annotated[User, Depends(require_roles(*ACTORS, api=True))]
Secretary = Annotated[User, Depends(require_roles(Role.subcommission_secretary, api=True))]
ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorOut, "description": "unauthorized, invalid_token"},
    403: {"model": ErrorOut, "description": "forbidden"},
    404: {"model": ErrorOut, "description": "not_found, out_of_scope"},
    409: {"model": ErrorOut, "description": "incident_conflict, duplicate_incident"},
    422: {"model": ErrorOut, "description": "validation_failed и точные коды полей"},
}
STATE = r"^(open|new|acknowledged|in_progress|waiting|escalated|resolved|closed)$"


async def _out(session: DB, incident_id: int, user: User, timeline: bool = True) -> IncidentOut:
    incident = await repository.get(session, scope_of(user), incident_id)
    if incident is None:
        raise NotFound("Инцидент не найден или вне вашей области доступа.")
    evidence = await repository.evidence(session, [incident.id])
    events = await repository.timeline(session, incident.id) if timeline else None
    return IncidentOut.of(incident, evidence[incident.id], events)


@router.get(
    "", response_model=IncidentList, responses=ERRORS, summary="Инциденты в области доступа"
)
async def list_incidents(
    session: DB,
    user: Reader,
    state: Annotated[str | None, Query(pattern=STATE)] = None,
    severity: Annotated[int | None, Query(ge=1, le=4)] = None,
    q: Annotated[str, Query(max_length=200)] = "",
    sort: Annotated[str, Query(max_length=40)] = "-id",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> IncidentList:
    params = PageParams.parse(page, per_page, sort, q)
    rows, total, _ = await repository.listing(session, scope_of(user), params, state, severity)
    incidents = [r[0] for r in rows]
    evidence = await repository.evidence(session, [i.id for i in incidents], per_incident=20)
    return IncidentList(
        items=[IncidentOut.of(i, evidence[i.id]) for i in incidents],
        total=total,
        page=params.page,
        per_page=params.per_page,
    )


@router.get(
    "/{incident_id}", response_model=IncidentOut, responses=ERRORS, summary="Инцидент с хронологией"
)
async def get_incident(session: DB, user: Reader, incident_id: int) -> IncidentOut:
    return await _out(session, incident_id, user)


@router.post(
    "",
    response_model=IncidentOut,
    status_code=201,
    responses=ERRORS,
    summary="Открыть инцидент вручную",
)
async def open_incident(session: DB, user: Worker, body: IncidentIn) -> IncidentOut:
    incident = await service.open_manual(
        session,
        scope_of(user),
        Actor(user.id, user.email),
        now_utc(),
        title=body.title,
        subject=body.subject,
        severity=body.severity,
        organization_id=body.organization_id,
        region_code=body.region_code,
        description=body.description,
    )
    return await _out(session, incident.id, user)


@router.post(
    "/{incident_id}/transitions",
    response_model=IncidentOut,
    responses=ERRORS,
    summary="Перевести инцидент",
)
async def transition(
    session: DB, user: Worker, incident_id: int, body: TransitionIn
) -> IncidentOut:
    await service.transition(
        session,
        scope_of(user),
        Actor(user.id, user.email),
        now_utc(),
        incident_id,
        body.action,
        body.comment,
    )
    return await _out(session, incident_id, user)


@router.post(
    "/{incident_id}/decision",
    response_model=IncidentOut,
    responses=ERRORS,
    summary="Решение подкомиссии",
)
async def decision(session: DB, user: Secretary, incident_id: int, body: DecisionIn) -> IncidentOut:
    await service.decide(
        session,
        Actor(user.id, user.email),
        now_utc(),
        incident_id,
        meeting_date=body.meeting_date,
        protocol=body.protocol,
        decision=body.decision,
    )
    return await _out(session, incident_id, user)


@router.post(
    "/{incident_id}/owner",
    response_model=IncidentOut,
    responses=ERRORS,
    summary="Назначить владельца",
)
async def owner(session: DB, user: Worker, incident_id: int, body: OwnerIn) -> IncidentOut:
    await service.assign_owner(
        session, scope_of(user), Actor(user.id, user.email), now_utc(), incident_id, body.email
    )
    return await _out(session, incident_id, user)


@router.post(
    "/{incident_id}/review",
    response_model=IncidentOut,
    responses=ERRORS,
    summary="Разбор после закрытия",
)
async def review(session: DB, user: Worker, incident_id: int, body: ReviewIn) -> IncidentOut:
    await service.write_review(
        session,
        scope_of(user),
        Actor(user.id, user.email),
        now_utc(),
        incident_id,
        cause=body.cause,
        actions=body.actions,
        change_needed=body.change_needed,
    )
    return await _out(session, incident_id, user)
