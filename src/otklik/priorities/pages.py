"""Pages: priority ranking and criteria, participants' indicators, information measures."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from otklik.errors import ValidationFailed
from otklik.identity.audit import Actor
from otklik.identity.deps import require_roles
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.indicators.periods import parse_period
from otklik.kit.web import DB, render, verify_csrf
from otklik.mszu.api import VIEW_ROLES
from otklik.mszu.exports import table_file
from otklik.mszu.statistics import today_moscow
from otklik.priorities import kpis, measures, repository, service

router = APIRouter(include_in_schema=False)
Csrf = Depends(verify_csrf)
ViewUser = Annotated[User, Depends(require_roles(*VIEW_ROLES))]
Analyst = Annotated[User, Depends(require_roles(Role.analyst))]
MeasureUser = Annotated[
    User,
    Depends(require_roles(Role.coordinator, Role.analyst, Role.regional_authority, Role.admin)),
]
COLOURS = ("#0b5394", "#6a3d9a", "#b3261e", "#b45309", "#166534", "#0e7490", "#7c2d12", "#475569")


@router.get("/priorities", response_class=HTMLResponse)
async def ranking_page(
    request: Request,
    session: DB,
    user: ViewUser,
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    kind: Literal["", "service", "life_situation"] = "",
    export: Literal["", "table"] = "",
    fmt: Literal["xlsx", "csv"] = "xlsx",
) -> Response:
    versions = await repository.versions(session)
    if not versions:
        return render(
            request,
            "priorities/ranking.html",
            v=None,
            items=[],
            versions=[],
            criteria=service.CRITERIA,
            user=user,
            defaults=service.DEFAULT_WEIGHTS,
        )
    v, items, window = await service.ranking(session, version)
    if kind:
        items = [r for r in items if r.kind == kind]
    if export:
        header = ["Место", "Диапазон мест", "Объект", "Балл", *service.CRITERIA.values()]
        rows = [
            (
                r.rank,
                f"{r.rank_range[0]}–{r.rank_range[1]}",
                r.name,
                r.score,
                *(r.contributions[k] for k in service.CRITERIA),
            )
            for r in items
        ]
        return table_file(
            fmt,
            f"Приоритеты, критерии версии {v.version}",
            header,
            rows,
            f"priorities-v{v.version}",
        )
    top = max((r.score for r in items), default=0) or 1
    return render(
        request,
        "priorities/ranking.html",
        v=v,
        items=items,
        versions=versions,
        criteria=service.CRITERIA,
        colours=COLOURS,
        top=top,
        window=window,
        kind=kind,
        user=user,
        defaults=v.weights,
    )


@router.post("/priorities/criteria", dependencies=[Csrf])
async def save_criteria(request: Request, session: DB, user: Analyst) -> Response:
    form = await request.form()
    weights = {k: str(form.get(f"w-{k}", "")).strip() for k in service.CRITERIA}
    v = await service.save_version(
        session, Actor(user.id, user.email), dict(weights), str(form.get("note", ""))[:2000]
    )
    return RedirectResponse(f"/priorities?version={v.version}", status_code=303)


@router.get("/participants", response_class=HTMLResponse)
async def participants_page(
    request: Request,
    session: DB,
    user: ViewUser,
    kind: Literal["region", "founder"] = "region",
    period: Annotated[str, Query(max_length=40)] = "",
    export: Literal["", "table"] = "",
    fmt: Literal["xlsx", "csv"] = "xlsx",
) -> Response:
    p = parse_period(period or str(today_moscow().year))
    rows, values, present = await kpis.comparison(session, kind, p)
    labels = {code: label for code, (label, *_rest) in kpis.EXTERNAL.items()}
    if export:
        header = [
            "Код",
            "Участник",
            "Приглашений",
            "Анкет",
            "Доля ответов, %",
            "Удовлетворённость",
            "n",
            "Год назад",
            "n год назад",
            "Изменение",
            "95 % ДИ от",
            "95 % ДИ до",
            *labels.values(),
        ]
        data = [
            (
                k.code,
                k.name,
                k.delivered,
                k.responses,
                "" if k.response_rate is None else round(k.response_rate * 100, 1),
                k.mean_now,
                k.n_now,
                k.mean_before,
                k.n_before,
                k.change,
                *(k.change_ci or ("", "")),
                *(_cell(values[c].get(k.code)) for c in labels),
            )
            for k in rows
        ]
        return table_file(
            fmt, f"Показатели участников, {p.label}", header, data, f"participants-{kind}-{p.text}"
        )
    return render(
        request,
        "priorities/participants.html",
        rows=rows,
        values=values,
        present=present,
        labels=labels,
        kind=kind,
        period=p,
        target=kpis.TARGET_RATE,
        linkable=await kpis.linkable(session, user, kind),
    )


def _cell(got: dict[str, object] | None) -> object:
    return "нет данных" if not got or got["value"] is None else got["value"]


@router.get("/participants/{code}", response_class=HTMLResponse)
async def participant_page(
    request: Request,
    session: DB,
    user: ViewUser,
    code: str,
    period: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    p = parse_period(period or str(today_moscow().year))
    mine, peers, external = await kpis.participant(session, user, code, p)
    kind, key = kpis.parse_code(code)
    return render(
        request,
        "priorities/participant.html",
        k=mine,
        peers=peers,
        external=external,
        trend=await kpis.trend(session, kind, key, p),
        kind=kind,
        code=code,
        period=p,
        target=kpis.TARGET_RATE,
    )


@router.get("/measures", response_class=HTMLResponse)
async def measures_page(
    request: Request,
    session: DB,
    user: MeasureUser,
    region: Annotated[str, Query(max_length=2)] = "",
) -> Response:
    items = await measures.overview(session, user, region or None)
    return render(
        request,
        "priorities/measures.html",
        items=items,
        moved=[x for x in items if x.effect.moved],
        channels=measures.CHANNELS,
        methods=measures.METHODS,
        types=await repository.organization_types(session),
        window_days=measures.WINDOW_DAYS,
        region=region,
        user=user,
    )


@router.post("/measures", dependencies=[Csrf])
async def add_measure(
    request: Request,
    session: DB,
    user: MeasureUser,
    region: Annotated[str, Form(max_length=2)] = "",
    title: Annotated[str, Form(max_length=300)] = "",
    started_on: Annotated[str, Form(max_length=20)] = "",
    ended_on: Annotated[str, Form(max_length=20)] = "",
    organizations: Annotated[str, Form(max_length=20_000)] = "",
    founder: Annotated[str, Form(max_length=60)] = "",
) -> Response:
    form = await request.form()
    channels = [str(c) for c in form.getlist("channels")]
    types = [str(t) for t in form.getlist("types")]
    try:
        start = date.fromisoformat(started_on) if started_on else None
        end = date.fromisoformat(ended_on) if ended_on else None
    except ValueError:
        raise ValidationFailed("Даты в формате ГГГГ-ММ-ДД.", code="dates") from None
    region = region or (user.scope_region_code or "")
    await measures.create(
        session,
        user,
        region,
        title,
        channels,
        start,
        end,
        ogrns=measures.parse_ogrns(organizations),
        type_codes=types,
        founder_code=founder,
    )
    return RedirectResponse(f"/measures?region={region}", status_code=303)
