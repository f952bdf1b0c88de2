"""Effect pages: the analyst's queue of released changes due for assessment; assessments."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from otklik.effects import links, repository
from otklik.effects.api import READERS
from otklik.effects.practices import adopt, library
from otklik.effects.service import VERDICTS
from otklik.identity.deps import DB, require_roles
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.identity.service import now_utc, scope_of
from otklik.indicators.repository import MOSCOW
from otklik.kit.pagination import Page, PageParams
from otklik.kit.web import render, verify_csrf

router = APIRouter(include_in_schema=False)
Reader = Annotated[User, Depends(require_roles(*READERS))]
Analyst = Annotated[User, Depends(require_roles(Role.analyst, Role.admin))]
METHODS = {
    "did_cluster": "разность разностей, интервал устойчив к кластерам (организациям)",
    "did_permutation": "разность разностей, перестановочный интервал (мало организаций)",
    "its": "прерванный временной ряд (без группы сравнения)",
}


@router.get("/effects", response_class=HTMLResponse)
async def effects(
    request: Request,
    session: DB,
    user: Reader,
    verdict: Annotated[
        str, Query(pattern="^(|confirmed|not_confirmed|inconclusive|pending)$")
    ] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    sort: Annotated[str, Query(max_length=40)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    params = PageParams.parse(page, 25, sort, q)
    items, total = await repository.listing(session, scope_of(user), params, verdict or None)
    is_analyst = user.role in (Role.analyst, Role.admin)
    return render(
        request, "effects/index.html", items=Page(items, total, params), verdict=verdict,
        verdicts=VERDICTS, methods=METHODS, is_analyst=is_analyst,
        due=await repository.due(session, None) if is_analyst else [],
    )  # fmt: skip


@router.post("/effects/change-requests/{cr_id}/assess", dependencies=[Depends(verify_csrf)])
async def assess(session: DB, user: Analyst, cr_id: int) -> Response:
    await links.assess_change(session, user, cr_id, datetime.now(MOSCOW).date(), now_utc())
    return RedirectResponse("/effects", status_code=303)


@router.post("/effects/change-requests/{cr_id}/close", dependencies=[Depends(verify_csrf)])
async def close(
    session: DB, user: Analyst, cr_id: int, reason: Annotated[str, Form(max_length=2000)] = ""
) -> Response:
    await links.close_change(session, user, cr_id, reason)
    return RedirectResponse("/effects", status_code=303)


@router.get("/practices", response_class=HTMLResponse)
async def practices(
    request: Request, session: DB, user: Reader, q: Annotated[str, Query(max_length=200)] = ""
) -> Response:
    return render(
        request, "effects/practices.html", rows=await library(session, q.strip()), q=q,
        can_adopt=user.role in (Role.participant, Role.coordinator),
    )  # fmt: skip


@router.post("/practices/{assessment_id}/adopt", dependencies=[Depends(verify_csrf)])
async def adopt_practice(
    session: DB,
    user: Annotated[User, Depends(require_roles(Role.participant, Role.coordinator))],
    assessment_id: int,
    service_code: Annotated[str, Form(max_length=100)],
    region_code: Annotated[str, Form(max_length=2)] = "",
) -> Response:
    cr_id = await adopt(session, user, assessment_id, service_code, region_code.strip() or None)
    return RedirectResponse(f"/improvement/change-requests/{cr_id}", status_code=303)
