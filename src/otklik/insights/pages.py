"""Insights pages: urgent flags, problems per organization, comments with topic corrections."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from otklik.errors import NotFound
from otklik.identity.audit import Actor
from otklik.identity.deps import require_roles
from otklik.identity.models import User
from otklik.identity.roles import COMMENT_TEXT_ROLES, Role
from otklik.identity.service import scope_of
from otklik.indicators.periods import parse_period
from otklik.insights import repository
from otklik.insights.analysis import URGENT_KINDS, disagrees
from otklik.insights.problems import effects, month_bounds
from otklik.insights.service import correct_topics
from otklik.insights.taxonomy import load
from otklik.insights.triage import STATES, review
from otklik.insights.urgent import detect, highlight
from otklik.kit.clock import MOSCOW, moscow_date, now_utc
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


def default_month(counts: dict[str, int], today: date, enough: int = SMALL_N) -> str:
    """The latest complete month (before today's) with at least ``enough`` analysed comments;
    else the complete month with the most; else today's month (``YYYY-MM``)."""
    current = f"{today:%Y-%m}"
    done = {mo: n for mo, n in counts.items() if mo < current}
    full = [mo for mo, n in done.items() if n >= enough]
    if full:
        return max(full)
    if done:
        return max(done, key=lambda mo: (done[mo], mo))
    return current


async def _period(
    session: DB, user: User, period: str | None, org_id: int | None = None
) -> tuple[str, bool]:
    """The month asked for, or the default one (and whether it was chosen by default)."""
    if period:
        return period, False
    counts = await repository.monthly_comments(session, scope_of(user), org_id)
    return default_month(counts, moscow_date()), True


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
    period, chosen = await _period(session, user, period)
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
        chosen=chosen,
        period_label=parse_period(period).label,
        small_n=SMALL_N,
        progress=await repository.analysis_progress(session, scope),
        can_triage=user.role in TRIAGE_ROLES,
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
    period, chosen = await _period(session, user, period, org_id)
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
        chosen=chosen,
        period_label=parse_period(period).label,
        progress=await repository.analysis_progress(session, scope),
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


TRIAGE_ROLES = (
    Role.organization,
    Role.regional_authority,
    Role.federal_authority,
    Role.coordinator,
    Role.admin,
)
TriageUser = Annotated[User, Depends(require_roles(*TRIAGE_ROLES))]


@router.get("/insights/triage", response_class=HTMLResponse)
async def triage_queue(
    request: Request,
    session: DB,
    user: TriageUser,
    state: Annotated[str, Query(pattern=r"^(|new|confirmed|not_urgent)$")] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    rows = await repository.triage_queue(
        session, scope_of(user), state or None, PAGE + 1, (page - 1) * PAGE
    )
    now = now_utc()
    items = []
    for r in rows[:PAGE]:
        flag = detect(r.text, r.score)
        items.append(
            {
                "row": r,
                "overdue": r.state == "new" and r.due_at < now,
                "due_time": f"{r.due_at.astimezone(MOSCOW):%H:%M}",
                "reasons": flag.reasons if flag else (),
                "pieces": highlight(r.text, flag.marks if flag else frozenset()),
            }
        )
    return render(
        request,
        "insights/triage.html",
        items=items,
        state=state,
        states=STATES,
        kinds=URGENT_KINDS,
        page=page,
        has_next=len(rows) > PAGE,
    )


@router.post("/insights/triage/{response_id}/{code}", dependencies=[Depends(verify_csrf)])
async def triage_review(
    session: DB,
    user: TriageUser,
    response_id: uuid.UUID,
    code: str,
    decision: Annotated[str, Form(max_length=20)],
    kind: Annotated[str, Form(max_length=20)] = "",
    back: Annotated[str, Form(max_length=200)] = "/insights/triage",
) -> Response:
    await review(
        session,
        scope_of(user),
        Actor(user.id, user.email),
        response_id,
        code,
        decision,
        kind or None,
        now_utc(),
    )
    target = back if back.startswith("/insights/triage") else "/insights/triage"
    return RedirectResponse(target, status_code=303)
