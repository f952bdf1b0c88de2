"""The reports page: a scope-filtered list with downloads, the "create" form, progress."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from otklik.errors import DomainError, NotFound
from otklik.identity.deps import require_roles
from otklik.identity.models import User
from otklik.identity.roles import INDICATOR_READERS
from otklik.identity.service import scope_of
from otklik.kit.clock import MOSCOW, moscow_date
from otklik.kit.pagination import Page, PageParams
from otklik.kit.scope import ScopeKind
from otklik.kit.web import DB, ReadDB, render, verify_csrf
from otklik.reports import repository, service

router = APIRouter(include_in_schema=False)
ReportUser = Annotated[User, Depends(require_roles(*INDICATOR_READERS))]
STATUS_LABELS = {
    "queued": "в очереди",
    "running": "составляется",
    "done": "готов",
    "failed": "ошибка",
}
MEDIA = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class NotReady(DomainError):
    status_code = 409
    code = "report_not_ready"
    message = "Отчёт ещё не готов: дождитесь окончания его составления."


def quarters(n: int = 8) -> list[str]:
    """The last ``n`` finished quarters, newest first."""
    text = service.last_complete_quarter(moscow_date())
    y, q = int(text[:4]), int(text[-1])
    out = []
    for _ in range(n):
        out.append(f"{y}-Q{q}")
        y, q = (y - 1, 4) if q == 1 else (y, q - 1)
    return out


async def own_spec(session: DB, user: User) -> str:
    """The user's own scope as a report scope (the form's default)."""
    scope = scope_of(user)
    if scope.kind is ScopeKind.region:
        return f"region:{scope.region_code}"
    if scope.kind is ScopeKind.founder and scope.founder_id is not None:
        codes = await repository.founder_keys(session, [scope.founder_id])
        return f"founder:{codes.get(scope.founder_id, '')}"
    if scope.kind is ScopeKind.organization and scope.organization_id is not None:
        keys = await repository.organization_keys(session, [scope.organization_id])
        return f"organization:{keys.get(scope.organization_id, '')}"
    return "country"


async def _page(
    request: Request, session: DB, user: User, page: int, form: dict[str, str],
    error: str | None = None, status_code: int = 200,
) -> Response:  # fmt: skip
    params = PageParams.parse(page, 20, "", "")
    items, total = await repository.listing(session, scope_of(user), params, None)
    busy = any(r.status in ("queued", "running") for r in items)
    return render(
        request,
        "reports/index.html",
        status_code=status_code,
        reports=Page(items, total, params),
        busy=busy,
        labels=STATUS_LABELS,
        kinds=service.KINDS,
        quarters=quarters(),
        form=form,
        error=error,
        moscow=MOSCOW,
    )


@router.get("/reports", response_class=HTMLResponse)
async def reports_page(
    request: Request,
    session: ReadDB,
    user: ReportUser,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    form = {"scope": await own_spec(session, user), "period": quarters()[0], "format": "pdf"}
    return await _page(request, session, user, page, form)


@router.post("/reports", dependencies=[Depends(verify_csrf)])
async def create_report(
    request: Request,
    session: DB,
    user: ReportUser,
    scope: Annotated[str, Form(max_length=100)] = "",
    period: Annotated[str, Form(max_length=20)] = "",
    format: Annotated[str, Form(max_length=10)] = "pdf",
) -> Response:
    form = {"scope": scope, "period": period, "format": format}
    try:
        await service.request(session, scope_of(user), scope, period, format, user.id)
    except DomainError as exc:
        if exc.status_code not in (400, 403, 404):
            raise
        return await _page(request, session, user, 1, form, exc.message, exc.status_code)
    return RedirectResponse("/reports", status_code=303)


@router.get("/reports/{report_id}/download")
async def download(session: ReadDB, user: ReportUser, report_id: uuid.UUID) -> Response:
    report = await repository.get(session, scope_of(user), report_id, content=True)
    if report is None:
        raise NotFound("Отчёт не найден.", code="report_not_found")
    if report.status != "done" or report.content is None:
        raise NotReady()
    name = f"otklik-{report.period}-{report.unit_kind}-{report.unit_key}.{report.format}"
    headers: dict[str, Any] = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(report.content, media_type=MEDIA[report.format], headers=headers)
