"""Incident pages: list (search, filters, sort, pages, CSV/XLSX), board, new, detail, actions."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from otklik.errors import NotFound
from otklik.identity.audit import Actor
from otklik.identity.deps import DB, require_roles
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.identity.service import now_utc, scope_of
from otklik.improvement.repository import subject_options
from otklik.incidents import repository, service
from otklik.incidents.api import ACTORS, READERS, STATE
from otklik.incidents.links import create_change_request_for
from otklik.incidents.rules import KINDS, SEVERITIES, STATES, TRANSITIONS
from otklik.kit.pagination import Page, PageParams
from otklik.kit.web import render, verify_csrf

router = APIRouter(include_in_schema=False)
Reader = Annotated[User, Depends(require_roles(*READERS))]
Worker = Annotated[User, Depends(require_roles(*ACTORS))]
Secretary = Annotated[User, Depends(require_roles(Role.subcommission_secretary))]
Proposer = Annotated[User, Depends(require_roles(Role.participant, Role.coordinator))]
MOSCOW = ZoneInfo("Europe/Moscow")
HEADER = [
    "№",
    "Название",
    "Состояние",
    "Уровень",
    "Источник",
    "Предмет",
    "Организация",
    "Регион",
    "Открыт (UTC)",
    "Принять до (UTC)",
    "Устранить до (UTC)",
    "Срок нарушен",
    "Сигналов",
]


def local(dt: datetime | None, tz: str | None) -> str:
    """A time in the region's zone (Moscow for national incidents), with the zone named."""
    if dt is None:
        return "—"
    zone = ZoneInfo(tz) if tz else MOSCOW
    return f"{dt.astimezone(zone):%d.%m.%Y %H:%M} ({zone.key})"


def _row(r: Any) -> list[Any]:
    i = r[0]
    return [
        i.id,
        i.title,
        STATES[i.state],
        i.severity,
        KINDS.get("manual") if i.source == "manual" else "сигнал",
        i.subject,
        r.organization or "",
        i.region_code or "",
        i.opened_at.strftime("%Y-%m-%d %H:%M"),
        i.ack_due.strftime("%Y-%m-%d %H:%M"),
        i.resolve_due.strftime("%Y-%m-%d %H:%M"),
        "да" if i.breached else "нет",
        i.signal_count,
    ]


def _export(rows: list[Any], fmt: str) -> Response:
    table = [_row(r) for r in rows]
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("Инциденты")
        ws.append(HEADER)
        for line in table:
            ws.append(line)
        buf = io.BytesIO()
        wb.save(buf)
        body, media = (
            buf.getvalue(),
            ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )
    else:
        text = io.StringIO()
        w = csv.writer(text, delimiter=";")
        w.writerow(HEADER)
        w.writerows(table)
        body, media = text.getvalue().encode("utf-8-sig"), "text/csv; charset=utf-8"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="incidents.{fmt}"'},
    )


@router.get("/incidents", response_class=HTMLResponse)
async def incidents(
    request: Request,
    session: DB,
    user: Reader,
    state: Annotated[str, Query(pattern=STATE + "|^$")] = "open",
    severity: Annotated[int | None, Query(ge=1, le=4)] = None,
    q: Annotated[str, Query(max_length=200)] = "",
    sort: Annotated[str, Query(max_length=40)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    export: Annotated[Literal["", "csv", "xlsx"], Query()] = "",
) -> Response:
    scope = scope_of(user)
    if export:
        return _export(
            await repository.all_rows(session, scope, state or None, severity, q), export
        )
    params = PageParams.parse(page, 25, sort, q)
    rows, total, sort = await repository.listing(session, scope, params, state or None, severity)
    params = PageParams.parse(page, 25, sort, q)
    return render(
        request,
        "incidents/list.html",
        rows=Page(rows, total, params),
        state=state,
        severity=severity,
        states=STATES,
        severities=SEVERITIES,
        local=local,
        can_open=user.role in {r.value for r in ACTORS},
    )


@router.get("/incidents/board", response_class=HTMLResponse)
async def board(request: Request, session: DB, user: Reader) -> Response:
    data = await repository.board(session, scope_of(user), now_utc())
    return render(request, "incidents/board.html", data=data, severities=SEVERITIES)


@router.get("/incidents/new", response_class=HTMLResponse)
async def new(request: Request, user: Worker) -> Response:
    return render(request, "incidents/new.html", severities=SEVERITIES, error=None, form={})


@router.post("/incidents/new", dependencies=[Depends(verify_csrf)])
async def create(
    request: Request,
    session: DB,
    user: Worker,
    title: Annotated[str, Form(max_length=300)],
    subject: Annotated[str, Form(max_length=120)],
    severity: Annotated[int, Form(ge=1, le=4)],
    organization_id: Annotated[str, Form(max_length=20)] = "",
    region_code: Annotated[str, Form(max_length=2)] = "",
    description: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    org = int(organization_id) if organization_id.strip().isdigit() else None
    incident = await service.open_manual(
        session,
        scope_of(user),
        Actor(user.id, user.email),
        now_utc(),
        title=title,
        subject=subject.strip(),
        severity=severity,
        organization_id=org,
        region_code=region_code.strip() or None,
        description=description,
    )
    return RedirectResponse(f"/incidents/{incident.id}", status_code=303)


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
async def detail(request: Request, session: DB, user: Reader, incident_id: int) -> Response:
    incident = await repository.get(session, scope_of(user), incident_id)
    if incident is None:
        raise NotFound("Инцидент не найден или вне вашей области доступа.")
    evidence = (await repository.evidence(session, [incident.id]))[incident.id]
    tz = await repository.region_timezone(session, incident.region_code)
    moves = {a: t for a, t in TRANSITIONS.items() if incident.state in t[0]}
    return render(
        request,
        "incidents/detail.html",
        i=incident,
        evidence=evidence,
        timeline=await repository.timeline(session, incident.id),
        states=STATES,
        severities=SEVERITIES,
        kinds=KINDS,
        local=lambda dt: local(dt, tz),
        moves=moves if user.role in {r.value for r in ACTORS} else {},
        can_decide=user.role == Role.subcommission_secretary and incident.state == "escalated",
        can_review=user.role in {r.value for r in ACTORS} and incident.state == "closed",
        can_link=user.role in ("participant", "coordinator")
        and incident.review is not None
        and incident.change_request_id is None,
        services=[o for o in await subject_options(session) if o[0].startswith("service:")],
        can_own=user.role in {r.value for r in ACTORS}
        and incident.state in STATES
        and incident.state not in ("resolved", "closed"),
    )


@router.post("/incidents/{incident_id}/transitions", dependencies=[Depends(verify_csrf)])
async def move(
    session: DB,
    user: Worker,
    incident_id: int,
    action: Annotated[str, Form(max_length=20)],
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    await service.transition(
        session, scope_of(user), Actor(user.id, user.email), now_utc(), incident_id, action, comment
    )
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


@router.post("/incidents/{incident_id}/owner", dependencies=[Depends(verify_csrf)])
async def owner(
    session: DB, user: Worker, incident_id: int, email: Annotated[str, Form(max_length=320)]
) -> Response:
    await service.assign_owner(
        session, scope_of(user), Actor(user.id, user.email), now_utc(), incident_id, email
    )
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


@router.post("/incidents/{incident_id}/change-request", dependencies=[Depends(verify_csrf)])
async def change_request(
    session: DB,
    user: Proposer,
    incident_id: int,
    service_code: Annotated[str, Form(max_length=100)],
) -> Response:
    cr_id = await create_change_request_for(session, user, now_utc(), incident_id, service_code)
    return RedirectResponse(f"/improvement/change-requests/{cr_id}", status_code=303)


@router.post("/incidents/{incident_id}/decision", dependencies=[Depends(verify_csrf)])
async def decision(
    session: DB,
    user: Secretary,
    incident_id: int,
    meeting_date: Annotated[date, Form()],
    protocol: Annotated[str, Form(max_length=50)],
    decision: Annotated[str, Form(max_length=4000)],
) -> Response:
    await service.decide(
        session,
        Actor(user.id, user.email),
        now_utc(),
        incident_id,
        meeting_date=meeting_date,
        protocol=protocol,
        decision=decision,
    )
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


@router.post("/incidents/{incident_id}/review", dependencies=[Depends(verify_csrf)])
async def review(
    session: DB,
    user: Worker,
    incident_id: int,
    cause: Annotated[str, Form(max_length=4000)],
    actions: Annotated[str, Form(max_length=4000)],
    change_needed: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    await service.write_review(
        session,
        scope_of(user),
        Actor(user.id, user.email),
        now_utc(),
        incident_id,
        cause=cause,
        actions=actions,
        change_needed=change_needed == "yes",
    )
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)
