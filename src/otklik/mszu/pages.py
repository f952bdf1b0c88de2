"""МСЗУ pages: list versions and their workflow, diff, electronic share, statistics upload."""

from __future__ import annotations

import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from otklik.errors import Forbidden, NotFound, ValidationFailed
from otklik.identity.audit import Actor
from otklik.identity.deps import require_roles
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.indicators.periods import parse_period
from otklik.intake import repository as intake_repository
from otklik.kit.tabular import FileProblem
from otklik.kit.web import DB, render, settings_of, verify_csrf
from otklik.mszu import repository, service, shares, statistics
from otklik.mszu.api import VIEW_ROLES
from otklik.mszu.exports import GAP_BANDS, gap_band, share_chart, table_file
from otklik.mszu.models import MODES

router = APIRouter(include_in_schema=False)
Csrf = Depends(verify_csrf)
ViewUser = Annotated[User, Depends(require_roles(*VIEW_ROLES))]
OperatorUser = Annotated[User, Depends(require_roles(Role.is_operator))]
CloseUser = Annotated[User, Depends(require_roles(Role.coordinator, Role.analyst))]
Fmt = Literal["xlsx", "csv"]


def _actor(user: User) -> Actor:
    return Actor(user.id, user.email)


@router.get("/mszu", response_class=HTMLResponse)
async def index(request: Request, session: DB, user: ViewUser) -> Response:
    versions = await repository.versions(session)
    return render(
        request, "mszu/index.html", versions=versions, statuses=service.STATUS_LABELS, user=user
    )


@router.post("/mszu/list", dependencies=[Csrf])
async def create(
    session: DB, user: ViewUser, note: Annotated[str, Form(max_length=2000)] = ""
) -> Response:
    v = await service.create_draft(session, _actor(user), user.role, None, note)
    return RedirectResponse(f"/mszu/list/{v.number}", status_code=303)


@router.get("/mszu/list/{number}", response_class=HTMLResponse)
async def version(
    request: Request,
    session: DB,
    user: ViewUser,
    number: int,
    export: Literal["", "list"] = "",
    fmt: Fmt = "xlsx",
) -> Response:
    v = await repository.version(session, number)
    if v is None:
        raise NotFound(f"Версии перечня МСЗУ № {number} нет.")
    items = await repository.items_with_names(session, number)
    if export:
        status = service.STATUS_LABELS[v.status]
        title = f"Перечень МСЗУ, версия {number} ({status})"
        if v.protocol_number and v.decision_date:
            title += f", протокол № {v.protocol_number} от {v.decision_date:%d.%m.%Y}"
        rows = [(c, n, service.MODE_LABELS[m]) for c, n, _, m in items]
        return table_file(fmt, title, ["Код", "Услуга", "Способ"], rows, f"mszu-list-{number}")
    everything = await repository.services(session) if v.status == "draft" else []
    chosen = {c: m for c, _, _, m in items}
    return render(
        request,
        "mszu/version.html",
        v=v,
        items=items,
        everything=everything,
        chosen=chosen,
        modes=service.MODE_LABELS,
        statuses=service.STATUS_LABELS,
        versions=await repository.versions(session),
        user=user,
    )


@router.post("/mszu/list/{number}/items", dependencies=[Csrf])
async def save_items(request: Request, session: DB, user: ViewUser, number: int) -> Response:
    form = await request.form()
    items = {
        k.removeprefix("mode-"): str(v)
        for k, v in form.items()
        if k.startswith("mode-") and str(v) in MODES
    }
    await service.update_items(session, _actor(user), user.role, number, items)
    return RedirectResponse(f"/mszu/list/{number}", status_code=303)


@router.post("/mszu/list/{number}/agree", dependencies=[Csrf])
async def agree(session: DB, user: ViewUser, number: int) -> Response:
    await service.agree(session, _actor(user), user.role, number)
    return RedirectResponse(f"/mszu/list/{number}", status_code=303)


@router.post("/mszu/list/{number}/approve", dependencies=[Csrf])
async def approve(
    session: DB,
    user: ViewUser,
    number: int,
    protocol: Annotated[str, Form(max_length=200)] = "",
    decision_date: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    try:
        day = date.fromisoformat(decision_date) if decision_date else None
    except ValueError:
        raise ValidationFailed("Дата решения в формате ГГГГ-ММ-ДД.", code="decision_date") from None
    await service.approve(session, _actor(user), user.role, number, protocol, day)
    return RedirectResponse(f"/mszu/list/{number}", status_code=303)


@router.post("/mszu/list/{number}/return", dependencies=[Csrf])
async def return_(
    session: DB, user: ViewUser, number: int, reason: Annotated[str, Form(max_length=2000)] = ""
) -> Response:
    await service.return_to_draft(session, _actor(user), user.role, number, reason)
    return RedirectResponse(f"/mszu/list/{number}", status_code=303)


@router.get("/mszu/diff", response_class=HTMLResponse)
async def diff(
    request: Request,
    session: DB,
    user: ViewUser,
    old: Annotated[int, Query(ge=1)],
    new: Annotated[int, Query(ge=1)],
) -> Response:
    d = await service.diff(session, old, new)
    names = await repository.service_names(session)
    return render(
        request,
        "mszu/diff.html",
        d=d,
        old=old,
        new=new,
        names=names,
        modes=service.MODE_LABELS,
    )


@router.get("/mszu/shares", response_class=HTMLResponse)
async def share_page(
    request: Request,
    session: DB,
    user: ViewUser,
    unit: Literal["region", "service", "founder", "country"] = "region",
    period: Annotated[str, Query(max_length=40)] = "",
    export: Literal["", "table", "trend"] = "",
    fmt: Fmt = "xlsx",
) -> Response:
    p = parse_period(period or str(shares.statistics_year()))
    rows, source = await shares.shares(session, user, unit, p)
    trend = await shares.monthly(session, user, p)
    if export == "table":
        header = ["Код", "Название", "Заявлений", "Электронно, %", "Проактивно, %", "Цель, %"]
        data = [
            (
                r.code or "—",
                r.name,
                r.applications,
                _pct(r.electronic_share),
                _pct(r.proactive_share),
                _pct(r.target),
            )
            for r in rows
        ]
        title = f"Доля МСЗУ в электронном виде {shares.UNIT_LABELS[unit]}, {p.label}"
        return table_file(fmt, title, header, data, f"mszu-shares-{unit}-{p.text}")
    if export == "trend":
        header = ["Месяц", "Заявлений", "Электронно, %", "Проактивно, %", "Цель, %"]
        trend_rows = [
            (
                t["month"].strftime("%Y-%m"),
                t["applications"],
                _pct(t["electronic"]),
                _pct(t["proactive"]),
                _pct(t["target"]),
            )
            for t in trend
        ]
        return table_file(
            fmt, "Доля МСЗУ в электронном виде по месяцам", header, trend_rows, "mszu-trend"
        )
    tiles = rows if unit == "region" else (await shares.shares(session, user, "region", p))[0]
    return render(
        request,
        "mszu/shares.html",
        rows=rows,
        tiles=sorted(tiles, key=lambda r: r.code),
        band=gap_band,
        bands=GAP_BANDS,
        unit=unit,
        units=shares.UNIT_LABELS,
        period=p,
        source=source,
        trend=trend,
        chart=share_chart(trend),
        unstated=next((r for r in rows if unit == "founder" and r.code == ""), None),
        uploaded=await repository.trajectory(session),
        can_upload=user.role == Role.coordinator,
    )


@router.post("/mszu/trajectory", dependencies=[Csrf])
async def trajectory(
    session: DB, user: ViewUser, points: Annotated[str, Form(max_length=2000)] = ""
) -> Response:
    await service.upload_trajectory(session, _actor(user), user.role, points)
    return RedirectResponse("/mszu/shares", status_code=303)


def _pct(v: float | None) -> float | str:
    return "" if v is None else round(v * 100, 1)


@router.get("/mszu/statistics", response_class=HTMLResponse)
async def statistics_page(request: Request, session: DB, user: ViewUser) -> Response:
    return render(
        request,
        "mszu/statistics.html",
        changes=await repository.changes(session),
        closed=await repository.closed_quarters(session),
        can_close=user.role in (Role.coordinator, Role.analyst),
    )


@router.post("/mszu/statistics/close", dependencies=[Csrf])
async def close_quarter(
    session: DB, user: CloseUser, quarter: Annotated[str, Form(max_length=10)] = ""
) -> Response:
    p = parse_period(quarter)
    if p.kind != "quarter":
        raise ValidationFailed("Укажите квартал в виде 2026-Q3.", code="bad_quarter")
    if p.end >= statistics.today_moscow():
        raise ValidationFailed("Закрыть можно только закончившийся квартал.", code="bad_quarter")
    await repository.add_closure(session, p.start, user.email)
    return RedirectResponse("/mszu/statistics", status_code=303)


@router.get("/mszu/statistics/upload", response_class=HTMLResponse)
async def upload_form(request: Request, session: DB, user: OperatorUser) -> Response:
    source = await intake_repository.get_source(session, user.source_id) if user.source_id else None
    return render(request, "mszu/upload.html", source=source, report=None)


@router.post("/mszu/statistics/upload", response_class=HTMLResponse, dependencies=[Csrf])
async def upload(
    request: Request, session: DB, user: OperatorUser, file: Annotated[UploadFile, File()]
) -> Response:
    source = await intake_repository.get_source(session, user.source_id) if user.source_id else None
    if source is None or not source.is_active:
        raise Forbidden("Учётная запись не связана с действующей информационной системой.")
    suffix = Path(file.filename or "").suffix.lower()[:10]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        with path.open("wb") as out:
            shutil.copyfileobj(file.file, out)
        try:
            rows = statistics.read_rows(path, settings_of(request).import_max_bytes)
            report = await statistics.ingest_file(session, source.id, rows)
        except FileProblem as exc:
            return render(
                request,
                "mszu/upload.html",
                status_code=400,
                source=source,
                report=None,
                problem=exc.message,
            )
    return render(request, "mszu/upload.html", source=source, report=report)
