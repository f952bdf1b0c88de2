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

from otklik.errors import DomainError, Forbidden, NotFound
from otklik.identity.deps import require_roles
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.identity.service import scope_of
from otklik.improvement.repository import subject_options
from otklik.kit.clock import MOSCOW
from otklik.kit.pagination import Page, PageParams
from otklik.kit.web import DB, render, verify_csrf
from otklik.roadmaps import detail, form, gantt, repository, service, workflow
from otklik.roadmaps.api import READERS
from otklik.roadmaps.schemas import ReplanIn, ReportIn

router = APIRouter(prefix="/roadmaps", include_in_schema=False)
PageUser = Annotated[User, Depends(require_roles(*READERS))]
# who plans: creates and edits drafts, re-plans measures (the service checks the rest)
Planner = Annotated[User, Depends(require_roles(Role.participant, Role.analyst))]
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
    "edited": "план изменён",
    "decision": "решение органа",
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


def _form_of(data: Any) -> form.Form:
    """The posted form (rows as parallel lists, as the browser sends them)."""

    def one(name: str) -> str:
        v = data.get(name, "")
        return v if isinstance(v, str) else ""

    def many(name: str) -> list[str]:
        return [v if isinstance(v, str) else "" for v in data.getlist(name)][: form.MAX_ROWS]

    cols = [many(n) for n in ("m_title", "m_owner", "m_start", "m_due", "m_weight", "m_deps")]
    cols.append(many("m_crs"))
    n = max((len(c) for c in cols), default=0)
    rows = [form.Row(*(c[k] if k < len(c) else "" for c in cols)) for k in range(n)]
    return form.Form(
        title=one("title"),
        subject=one("subject"),
        scope=one("scope"),
        report_every_days=one("report_every_days"),
        rows=rows,
    )


async def _render_form(
    request: Request,
    session: DB,
    user: User,
    f: form.Form,
    *,
    roadmap: Any = None,
    error: str | None = None,
) -> Response:
    return render(
        request,
        "roadmaps/form.html",
        status_code=422 if error else 200,
        f=f,
        r=roadmap,
        subjects=await subject_options(session),
        can_place=user.scope_kind == "country",
        error=error,
    )


async def _save(
    request: Request, session: DB, user: User, roadmap_id: int | None
) -> tuple[form.Form, int | None, str | None]:
    """Read the posted form and create or update; (form, roadmap id, error in Russian)."""
    f = _form_of(await request.form())
    if (await request.form()).get("action") == "more":
        return f.padded(form.EXTRA_ROWS + 3), None, None
    try:
        data = form.to_input(f)
        if roadmap_id is None:
            saved = await service.create(session, user, data, _now())
        else:
            saved = await service.update(session, user, roadmap_id, data, _now())
        return f, saved.id, None
    except form.FormError as exc:
        return f.padded(), None, exc.message
    except DomainError as exc:
        if exc.status_code != 422:
            raise
        return f.padded(), None, form.row_message(exc.message, exc.extra.get("field"), f)


@router.get("/new", response_class=HTMLResponse)
async def new_form(request: Request, session: DB, user: Planner) -> Response:
    return await _render_form(request, session, user, form.Form().padded(5))


@router.post("/new", response_class=HTMLResponse, dependencies=[Depends(verify_csrf)])
async def new_submit(request: Request, session: DB, user: Planner) -> Response:
    f, saved, error = await _save(request, session, user, None)
    if saved is not None:
        return RedirectResponse(f"/roadmaps/{saved}", status_code=303)
    return await _render_form(request, session, user, f, error=error)


async def _editable(session: DB, user: User, roadmap_id: int) -> Any:
    data = await detail.build(session, user, roadmap_id, _now())
    if user.role == Role.participant and data.owner != user.email:
        raise Forbidden("Изменять дорожную карту может её владелец или аналитик.")
    if data.state != "draft":
        raise service.TransitionConflict(
            f"Дорожная карта в состоянии «{workflow.STATE_LABELS[data.state]}»: план меняется "
            "целиком только в черновике. После одобрения сроки мероприятия меняют "
            "перепланированием (базовый план сохраняется).",
            code="roadmap_locked",
            state=data.state,
        )
    return data


@router.get("/{roadmap_id}/edit", response_class=HTMLResponse)
async def edit_form(request: Request, session: DB, user: Planner, roadmap_id: int) -> Response:
    data = await _editable(session, user, roadmap_id)
    subject = f"{data.subject.kind}:{data.subject.code}"
    return await _render_form(request, session, user, form.from_detail(data, subject), roadmap=data)


@router.post("/{roadmap_id}/edit", response_class=HTMLResponse, dependencies=[Depends(verify_csrf)])
async def edit_submit(request: Request, session: DB, user: Planner, roadmap_id: int) -> Response:
    data = await _editable(session, user, roadmap_id)
    f, saved, error = await _save(request, session, user, roadmap_id)
    if saved is not None:
        return RedirectResponse(f"/roadmaps/{saved}", status_code=303)
    return await _render_form(request, session, user, f, roadmap=data, error=error)


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
        can_plan=user.role in service.PLANNERS,
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


@router.get("/{roadmap_id}/measures/{measure_id}/plan", response_class=HTMLResponse)
async def plan_form(
    request: Request, session: DB, user: Planner, roadmap_id: int, measure_id: int
) -> Response:
    data, measure = await _measure(session, user, roadmap_id, measure_id)
    return render(request, "roadmaps/plan.html", r=data, m=measure, form={}, error=None)


@router.post(
    "/{roadmap_id}/measures/{measure_id}/plan",
    response_class=HTMLResponse,
    dependencies=[Depends(verify_csrf)],
)
async def plan_submit(
    request: Request,
    session: DB,
    user: Planner,
    roadmap_id: int,
    measure_id: int,
    planned_start: Annotated[str, Form(max_length=20)] = "",
    planned_due: Annotated[str, Form(max_length=20)] = "",
    comment: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    values = {"planned_start": planned_start, "planned_due": planned_due, "comment": comment}
    error = None
    try:
        body = ReplanIn.model_validate({k: v.strip() or None for k, v in values.items()})
        await service.replan(session, user, roadmap_id, measure_id, body, _now())
        return RedirectResponse(f"/roadmaps/{roadmap_id}#m{measure_id}", status_code=303)
    except ValidationError as exc:
        field = str(exc.errors()[0]["loc"][0])
        error = {
            "planned_start": "Укажите новую дату начала (ДД.ММ.ГГГГ).",
            "planned_due": "Укажите новый срок окончания (ДД.ММ.ГГГГ).",
            "comment": "Укажите причину перепланирования.",
        }.get(field, "Проверьте поля формы.")
    except DomainError as exc:
        if exc.status_code != 422:
            raise
        error = exc.message
    data, measure = await _measure(session, user, roadmap_id, measure_id)
    return render(
        request, "roadmaps/plan.html", status_code=422, r=data, m=measure, form=values,
        error=error,
    )  # fmt: skip
