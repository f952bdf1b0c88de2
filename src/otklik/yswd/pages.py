"""«Вы сказали — мы сделали»: the public page of one organization, the organization's own
entries and its authority's review."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from otklik.errors import DomainError
from otklik.identity.audit import Actor
from otklik.identity.deps import require_roles
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.identity.service import scope_of
from otklik.indicators.methodology import ITEM_LABELS
from otklik.kit.clock import moscow_date, now_utc
from otklik.kit.web import DB, render, verify_csrf
from otklik.yswd import service

router = APIRouter(include_in_schema=False)
Csrf = Depends(verify_csrf)
ROLES = (Role.organization, Role.regional_authority, Role.federal_authority)
Member = Annotated[User, Depends(require_roles(*ROLES))]
Organization = Annotated[User, Depends(require_roles(Role.organization))]
Authority = Annotated[User, Depends(require_roles(Role.regional_authority, Role.federal_authority))]


@router.get("/o/{ogrn}/you-said-we-did", response_class=HTMLResponse)
async def public_page(request: Request, session: DB, ogrn: str) -> Response:
    page = await service.public_page(session, ogrn.strip()[:15], moscow_date(now_utc()))
    return render(
        request, "yswd/public.html", **page, labels=ITEM_LABELS,
        large=request.query_params.get("text") == "large",
    )  # fmt: skip


async def _cabinet(
    request: Request, session: DB, user: User, problem: str | None = None, status_code: int = 200
) -> Response:
    data = await service.cabinet(session, scope_of(user))
    return render(
        request, "yswd/cabinet.html", status_code=status_code, **data, problem=problem,
        topics=service.topic_names(), states=service.STATES, today=moscow_date(now_utc()),
        is_org=user.role == Role.organization,
    )  # fmt: skip


@router.get("/yswd", response_class=HTMLResponse)
async def cabinet(request: Request, session: DB, user: Member) -> Response:
    return await _cabinet(request, session, user)


@router.post("/yswd/entries", response_class=HTMLResponse, dependencies=[Csrf])
async def submit(
    request: Request,
    session: DB,
    user: Organization,
    topic: Annotated[str, Form(max_length=60)],
    said: Annotated[str, Form(max_length=2000)],
    done: Annotated[str, Form(max_length=4000)],
    done_on: Annotated[date, Form()],
) -> Response:
    try:
        await service.submit(
            session, scope_of(user), Actor(user.id, user.email), moscow_date(now_utc()),
            topic=topic, said=said, done=done, done_on=done_on,
        )  # fmt: skip
    except DomainError as exc:  # refused before anything is written
        return await _cabinet(request, session, user, exc.message, exc.status_code)
    return RedirectResponse("/yswd?sent=1", status_code=303)


@router.post("/yswd/entries/{entry_id}/review", response_class=HTMLResponse, dependencies=[Csrf])
async def review(
    request: Request,
    session: DB,
    user: Authority,
    entry_id: int,
    decision: Annotated[str, Form(pattern="^(approve|return)$")],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        await service.review(
            session, scope_of(user), Actor(user.id, user.email), now_utc(), entry_id,
            approve=decision == "approve", reason=reason,
        )  # fmt: skip
    except DomainError as exc:  # refused before anything is written
        return await _cabinet(request, session, user, exc.message, exc.status_code)
    return RedirectResponse("/yswd", status_code=303)
