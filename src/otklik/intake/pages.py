"""Intake pages: sources (administrator), file upload (operator), timeliness and quality."""

from __future__ import annotations

import re
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from otklik.errors import Forbidden, NotFound
from otklik.identity.audit import Actor
from otklik.identity.deps import require_roles
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.intake import quality, repository, service
from otklik.intake.api import QUALITY_ROLES
from otklik.intake.formats import read_records
from otklik.kit.pagination import Page, PageParams
from otklik.kit.tabular import FileProblem, write_xlsx
from otklik.kit.web import DB, render, settings_of, vault_of, verify_csrf

router = APIRouter(include_in_schema=False)
Csrf = Depends(verify_csrf)
AdminUser = Annotated[User, Depends(require_roles(Role.admin))]
OperatorUser = Annotated[User, Depends(require_roles(Role.is_operator))]
QualityUser = Annotated[User, Depends(require_roles(*QUALITY_ROLES))]
REPORT_RE = re.compile(r"^[A-Za-z0-9_\-]{22}$")
ERROR_HEADER = ["Строка", "record_id", "Поле", "Код", "Сообщение"]
PERIODS = (7, 30, 90)
REPORT_SECONDS = 24 * 3600


async def _sources_page(
    request: Request, session: DB, *, new_key: str | None = None, key_for: str | None = None
) -> Response:
    items = await repository.list_sources(session)
    return render(request, "intake/sources.html", sources=items, new_key=new_key, key_for=key_for)


@router.get("/admin/sources", response_class=HTMLResponse)
async def sources(request: Request, session: DB, user: AdminUser) -> Response:
    return await _sources_page(request, session)


@router.post("/admin/sources", response_class=HTMLResponse, dependencies=[Csrf])
async def create_source(
    request: Request, session: DB, user: AdminUser, name: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    source, key = await service.create_source(session, Actor(user.id, user.email), name.strip())
    return await _sources_page(request, session, new_key=key, key_for=source.name)


@router.post("/admin/sources/{name}/rotate", response_class=HTMLResponse, dependencies=[Csrf])
async def rotate_source_key(request: Request, session: DB, user: AdminUser, name: str) -> Response:
    key = await service.rotate_key(session, Actor(user.id, user.email), name)
    return await _sources_page(request, session, new_key=key, key_for=name)


@router.post("/admin/sources/{name}/active", dependencies=[Csrf])
async def set_source_active(
    session: DB, user: AdminUser, name: str, active: Annotated[bool, Form()] = False
) -> Response:
    await service.set_active(session, Actor(user.id, user.email), name, active)
    return RedirectResponse("/admin/sources", status_code=303)


@router.get("/intake/quality", response_class=HTMLResponse)
async def quality_page(
    request: Request,
    session: DB,
    user: QualityUser,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
    source: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    sort: Annotated[str, Query(max_length=20)] = "within",
) -> Response:
    params = PageParams.parse(page, 50, sort, "")
    report = await quality.build(
        session, user, days=days, source_name=source or None, params=params
    )
    orgs = Page(
        report.organizations,
        report.organizations_total,
        PageParams(page=params.page, per_page=params.per_page, sort=report.organizations_sort),
    )
    own_source = user.role == Role.is_operator and user.source_id is not None
    choices = [] if own_source else await repository.list_sources(session)
    peak = max((d.accepted + d.duplicates + d.rejected for d in report.days), default=0)
    return render(
        request,
        "intake/quality.html",
        report=report,
        orgs=orgs,
        days=days,
        periods=PERIODS,
        source=source,
        choices=choices,
        peak=peak,
    )


def _reports_dir(request: Request) -> Path:
    """Error reports of uploads; each is kept for a day (they hold record ids, nothing personal)."""
    path = settings_of(request).data_dir / "intake-reports"
    path.mkdir(parents=True, exist_ok=True)
    day_ago = time.time() - REPORT_SECONDS
    for old in path.glob("*.xlsx"):
        if old.stat().st_mtime < day_ago:
            old.unlink(missing_ok=True)
    return path


@router.get("/intake/upload", response_class=HTMLResponse)
async def upload_form(request: Request, session: DB, user: OperatorUser) -> Response:
    source = await repository.get_source(session, user.source_id) if user.source_id else None
    return render(request, "intake/upload.html", source=source, report=None, report_id=None)


@router.post("/intake/upload", response_class=HTMLResponse, dependencies=[Csrf])
async def upload(
    request: Request,
    session: DB,
    user: OperatorUser,
    file: Annotated[UploadFile, File()],
) -> Response:
    if user.source_id is None:
        raise Forbidden("Учётная запись не связана с информационной системой.")
    source = await repository.get_source(session, user.source_id)
    if source is None or not source.is_active:
        raise Forbidden("Информационная система отключена.")
    settings = settings_of(request)
    suffix = Path(file.filename or "").suffix.lower()[:10]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        with path.open("wb") as out:
            shutil.copyfileobj(file.file, out)
        try:
            records, _ = read_records(path, settings.import_max_bytes)
            report = await service.ingest_file(
                session,
                source.id,
                records,
                vault=vault_of(request),
                retention_days=settings.retention_days,
            )
        except FileProblem as exc:
            return render(
                request,
                "intake/upload.html",
                status_code=400,
                source=source,
                report=None,
                report_id=None,
                problem=exc.message,
            )
    report_id = None
    if report.errors:
        report_id = secrets.token_urlsafe(16)
        write_xlsx(
            _reports_dir(request) / f"{user.id}-{report_id}.xlsx",
            "Ошибки",
            ERROR_HEADER,
            report.errors,
        )
    return render(request, "intake/upload.html", source=source, report=report, report_id=report_id)


@router.get("/intake/upload/reports/{report_id}.xlsx")
async def upload_report(request: Request, user: OperatorUser, report_id: str) -> Response:
    if not REPORT_RE.match(report_id):
        raise NotFound("Отчёт не найден.")
    path = _reports_dir(request) / f"{user.id}-{report_id}.xlsx"
    if not path.is_file():
        raise NotFound("Отчёт не найден или уже удалён.")
    return FileResponse(
        path,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename="intake-errors.xlsx",
    )
