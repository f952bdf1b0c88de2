"""Insights pages: urgent flags, problems per organization, comments with topic corrections."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from otklik.errors import NotFound
from otklik.identity.audit import Actor
from otklik.identity.deps import require_roles
from otklik.identity.models import User
from otklik.identity.roles import COMMENT_TEXT_ROLES, Role
from otklik.identity.service import scope_of
from otklik.insights import repository
from otklik.insights.analysis import URGENT_KINDS, disagrees
from otklik.insights.problems import effects, month_bounds
from otklik.insights.service import correct_topics
from otklik.insights.taxonomy import load
from otklik.kit.clock import moscow_date
from otklik.kit.pagination import Page, PageParams
from otklik.kit.web import DB, render, verify_csrf

router = APIRouter(include_in_schema=False)
ROLES = (
    Role.organization,
    Role.regional_authority,
    Role.federal_authority,
    Role.coordinator,
    Role.analyst,
    Role.admin,
)

CORRECT_ROLES = {"organization", "coordinator", "admin"}
SMALL_N = 10
PAGE = 20
PERIOD = r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])$"
InsightsUser = Annotated[User, Depends(require_roles(*ROLES))]
SENTIMENTS = {"negative": "негативный", "neutral": "нейтральный", "positive": "позитивный"}


async def _period(session: DB, user: User, period: str | None) -> str:
    if period:
        return period
    day = await repository.latest_day(session, scope_of(user)) or moscow_date()
    return f"{day:%Y-%m}"


@router.get("/insights", response_class=HTMLResponse)
async def overview(
    request: Request,
    session: DB,
    user: InsightsUser,
    period: Annotated[str | None, Query(pattern=PERIOD)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    sort: Annotated[str, Query(max_length=40)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    period = await _period(session, user, period)
    start, end = month_bounds(period)
    scope = scope_of(user)
    params = PageParams.parse(page, 50, sort, q)
    items, total = await repository.overview(session, scope, start, end, params)
    return render(
        request,
        "insights/index.html",
        period=period,
        orgs=Page(items, total, params),
        urgent=await repository.urgent(session, scope, None, 50),
        # an organization reads urgent texts on its own page, above the small-number threshold
        show_text=user.role in COMMENT_TEXT_ROLES and user.role != Role.organization,
        kinds=URGENT_KINDS,
        own_org_id=user.scope_organization_id if user.role == Role.organization else None,
    )


@router.get("/insights/organizations/{org_id}", response_class=HTMLResponse)
async def organization(
    request: Request,
    session: DB,
    user: InsightsUser,
    org_id: int,
    period: Annotated[str | None, Query(pattern=PERIOD)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    scope = scope_of(user)
    org = await repository.visible_organization(session, scope, org_id)
    if org is None:
        raise NotFound("Организация не найдена или вне вашей области доступа.")
    period = await _period(session, user, period)
    start, end = month_bounds(period)
    totals = await repository.score_totals(session, scope, [org_id], start, end)
    n = int(totals[0].n) if totals else 0
    enough = n >= SMALL_N
    found = (await effects(session, scope, [org_id], period)).get(org_id, []) if enough else []
    situations = (
        (await effects(session, scope, [org_id], period, "situation")).get(org_id, [])
        if enough
        else []
    )
    show_text = user.role in COMMENT_TEXT_ROLES
    examples: dict[str, list[str]] = {}
    comments = []
    if enough and show_text:
        for r in await repository.examples(session, scope, org_id, start, end, 3):
            examples.setdefault(r.topic, []).append(r.text)
        comments = list(
            await repository.comments(
                session, scope, org_id, start, end, PAGE + 1, (page - 1) * PAGE
            )
        )
    return render(
        request,
        "insights/organization.html",
        org=org,
        period=period,
        n=n,
        small_n=SMALL_N,
        enough=enough,
        effects=found,
        situations=[e for e in situations if e.problem],
        examples=examples,
        urgent=await repository.urgent(session, scope, org_id, 50),
        comments=comments[:PAGE],
        has_next=len(comments) > PAGE,
        page=page,
        show_text=show_text,
        # flags always; their text to an organization only above the small-number threshold
        urgent_text=show_text and (enough or user.role != Role.organization),
        can_correct=user.role in CORRECT_ROLES,
        taxonomy=load(),
        kinds=URGENT_KINDS,
        sentiments=SENTIMENTS,
        disagrees=disagrees,
    )


@router.post("/insights/comments/{response_id}/{code}/topics", dependencies=[Depends(verify_csrf)])
async def correct(
    session: DB,
    user: Annotated[User, Depends(require_roles(Role.organization, Role.coordinator, Role.admin))],
    response_id: uuid.UUID,
    code: str,
    topics: Annotated[list[str] | None, Form()] = None,
    back: Annotated[str, Form(max_length=200)] = "/insights",
) -> Response:
    await correct_topics(
        session, scope_of(user), Actor(user.id, user.email), response_id, code, topics or []
    )
    target = back if back.startswith("/insights") else "/insights"
    return RedirectResponse(target, status_code=303)
