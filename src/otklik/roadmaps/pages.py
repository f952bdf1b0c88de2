"""Roadmap pages: the list (search, filters, sorting, pages, XLSX/CSV), the detail page with
the Gantt chart, risk reasons and timeline, transitions and progress reports."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from otklik.errors import DomainError, NotFound
from otklik.identity.deps import DB, require_roles
from otklik.identity.models import User
from otklik.identity.service import scope_of
from otklik.indicators.repository import MOSCOW
from otklik.kit.pagination import Page, PageParams
from otklik.kit.web import render, verify_csrf
from otklik.roadmaps import detail, gantt, repository, service, workflow
from otklik.roadmaps.api import READERS
from otklik.roadmaps.schemas import ReportIn

router = APIRouter(prefix="/roadmaps", include_in_schema=False)
PageUser = Annotated[User, Depends(require_roles(*READERS))]
Fmt = Literal["csv", "xlsx"]
TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
KIND_LABELS = {
    "created": "создана",
    "transition": "смена состояния",
    "replan": "перепланирование",
    "report": "отчёт о ходе",
    "risk_alert": "рост риска",
}


def _now() -> datetime:
    return datetime.now(UTC)


def _today() -> date:
    return _now().astimezone(MOSCOW).date()


def _share(v: float | None) -> str:
    return "" if v is None else f"{v:.2f}".replace(".", ",")


def _export(fmt: str, title: str, header: list[str], rows: list[list[Any]], name: str) -> Response:
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, delimiter=";")
        w.writerows([[title], [], header, *rows])
        body = buf.getvalue().encode("utf-8-sig")
    else:
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("Дорожные карты")
        for line in ([title], [], header, *rows):
            ws.append(line)
        out = io.BytesIO()
        wb.save(out)
        body = out.getvalue()
    disposition = f'attachment; filename="{name}-{_today():%Y-%m-%d}.{fmt}"'
    return Response(body, media_type=TYPES[fmt], headers={"Content-Disposition": disposition})


@router.get("", response_class=HTMLResponse)
async def index(
    request: Request,
    session: DB,
    user: PageUser,
    q: Annotated[str, Query(max_length=200)] = "",
    state: Annotated[str, Query(max_length=30)] = "",
    risk: Annotated[Literal["", "high", "low"], Query()] = "",
    sort: Annotated[str, Query(max_length=40)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    export: Literal["", "table"] = "",
    fmt: Fmt = "csv",
) -> Response:
    params = PageParams.parse(page, 25, sort, q)
    state = state if state in workflow.STATE_LABELS else ""
    scope = scope_of(user)
    if export:
        rows, _, _ = await repository.list_roadmaps(
            session, scope, params, state=state, risk=risk, limit=100_000
        )
        header = ["№", "Дорожная карта", "Состояние", "Предмет", "Владелец", "Мероприятий"]
        header += ["Срок (прогноз)", "Риск срыва"]
        table = [
            [
                r.id,
                r.title,
                workflow.STATE_LABELS[r.state],
                r.subject_code,
                r.owner,
                r.measures,
                r.due.strftime("%d.%m.%Y") if r.due else "",
                _share(r.risk),
            ]
            for r in rows
        ]
        return _export(fmt, "Дорожные карты", header, table, "roadmaps")
    rows, total, sort = await repository.list_roadmaps(
        session, scope, params, state=state, risk=risk
    )
    now = _now()
    return render(
        request,
        "roadmaps/index.html",
        items=Page(rows, total, PageParams(params.page, params.per_page, sort, params.q)),
        q=q,
        state=state,
        risk=risk,
        sort=sort,
        states=workflow.STATE_LABELS,
        due=await repository.due_reports(session, user.id, now),
        alerts=await repository.alerts(session, user.id),
        share=_share,
    )


@router.get("/{roadmap_id}", response_class=HTMLResponse)
async def show(
    request: Request,
    session: DB,
    user: PageUser,
    roadmap_id: int,
    export: Literal["", "measures"] = "",
    fmt: Fmt = "csv",
) -> Response:
    data = await detail.build(session, user, roadmap_id, _now())
    if export:
        header = ["№", "Мероприятие", "Владелец", "Начало (план)", "Срок (план)"]
        header += ["Срок (базовый план)", "Срок (прогноз)", "Выполнено, %", "Риск", "Причины"]
        rows = [
            [
                m.id,
                m.title,
                m.owner,
                m.planned_start,
                m.planned_due,
                m.baseline_due or "",
                m.forecast_due,
                m.progress,
                _share(m.risk),
                "; ".join(m.risk_reasons),
            ]
            for m in data.measures
        ]
        return _export(fmt, f"Дорожная карта: {data.title}", header, rows, f"roadmap-{data.id}")
    numbers = {m.id: i + 1 for i, m in enumerate(data.measures)}
    return render(
        request,
        "roadmaps/detail.html",
        r=data,
        chart=gantt.chart(data.measures, _today()),
        states=workflow.STATE_LABELS,
        steps=workflow.available(data.state, user.role),
        numbers=numbers,
        kinds=KIND_LABELS,
        user_email=user.email,
        share=_share,
        today=_today(),
    )


@router.post("/{roadmap_id}/transitions", dependencies=[Depends(verify_csrf)])
async def move(
    session: DB,
    user: PageUser,
    roadmap_id: int,
    to: Annotated[str, Form(max_length=30)],
    comment: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    await service.transition(session, user, roadmap_id, to, comment, _now())
    return RedirectResponse(f"/roadmaps/{roadmap_id}", status_code=303)


async def _measure(session: DB, user: User, roadmap_id: int, measure_id: int) -> Any:
    data = await detail.build(session, user, roadmap_id, _now())
    measure = next((m for m in data.measures if m.id == measure_id), None)
    if measure is None:
        raise NotFound("Мероприятие не найдено.")
    return data, measure


@router.get("/{roadmap_id}/measures/{measure_id}/report", response_class=HTMLResponse)
async def report_form(
    request: Request, session: DB, user: PageUser, roadmap_id: int, measure_id: int
) -> Response:
    data, measure = await _measure(session, user, roadmap_id, measure_id)
    history = await repository.reports(session, measure_id)
    return render(
        request,
        "roadmaps/report.html",
        r=data,
        m=measure,
        history=history,
        form={},
        error=None,
    )


@router.post(
    "/{roadmap_id}/measures/{measure_id}/report",
    response_class=HTMLResponse,
    dependencies=[Depends(verify_csrf)],
)
async def report_submit(
    request: Request,
    session: DB,
    user: PageUser,
    roadmap_id: int,
    measure_id: int,
    percent: Annotated[str, Form(max_length=5)] = "",
    text: Annotated[str, Form(max_length=4000)] = "",
    problems: Annotated[str, Form(max_length=4000)] = "",
    forecast_due: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    form = {"percent": percent, "text": text, "problems": problems, "forecast_due": forecast_due}
    error = None
    try:
        body = ReportIn.model_validate(form | {"percent": percent.strip() or None})
        now = _now()
        await service.report(session, user, roadmap_id, measure_id, body, now, _today())
        return RedirectResponse(f"/roadmaps/{roadmap_id}#m{measure_id}", status_code=303)
    except ValidationError as exc:
        field = str(exc.errors()[0]["loc"][0])
        error = {
            "percent": "Укажите процент выполнения: целое число от 0 до 100.",
            "text": "Опишите, что сделано.",
            "forecast_due": "Укажите прогнозную дату завершения (ДД.ММ.ГГГГ).",
        }.get(field, "Проверьте поля формы.")
    except DomainError as exc:
        if exc.status_code != 422:
            raise
        error = exc.message
    data, measure = await _measure(session, user, roadmap_id, measure_id)
    history = await repository.reports(session, measure_id)
    return render(
        request,
        "roadmaps/report.html",
        status_code=422,
        r=data,
        m=measure,
        history=history,
        form=form,
        error=error,
    )
