"""Lab pages: studies (search, pages), new study or re-test, report with before/after, upload,
findings linked to change requests, XLSX export of the report."""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from otklik.identity.audit import Actor
from otklik.identity.deps import DB, require_roles
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.identity.service import scope_of
from otklik.kit.pagination import Page, PageParams
from otklik.kit.web import render, settings_of, verify_csrf
from otklik.labs import report, repository, service
from otklik.labs.links import link_finding

router = APIRouter(include_in_schema=False)
READERS = (Role.lab, Role.analyst, Role.coordinator, Role.participant, Role.admin)
Reader = Annotated[User, Depends(require_roles(*READERS))]
LabUser = Annotated[User, Depends(require_roles(Role.lab, Role.admin))]
Csrf = Depends(verify_csrf)


@router.get("/labs", response_class=HTMLResponse)
async def studies(
    request: Request,
    session: DB,
    user: Reader,
    q: Annotated[str, Query(max_length=200)] = "",
    sort: Annotated[str, Query(max_length=40)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    params = PageParams.parse(page, 25, sort, q)
    items, total = await repository.listing(session, scope_of(user), params)
    return render(
        request, "labs/list.html", studies=Page(items, total, params),
        can_edit=user.role in (Role.lab, Role.admin),
    )  # fmt: skip


@router.post("/labs", dependencies=[Csrf])
async def create(
    session: DB,
    user: LabUser,
    title: Annotated[str, Form(max_length=300)],
    subject: Annotated[str, Form(max_length=200)],
    tasks: Annotated[str, Form(max_length=10_000)] = "",
    retest_of: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    study = await service.create_study(
        session, Actor(user.id, user.email), title=title, subject=subject,
        tasks=tasks.splitlines(), region_code=user.scope_region_code,
        retest_of=int(retest_of) if retest_of.strip().isdigit() else None,
    )  # fmt: skip
    return RedirectResponse(f"/labs/{study.id}", status_code=303)


def _xlsx(data: dict[str, Any]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Задания")
    ws.append([data["title"]])
    ws.append([f"SUS: {data['sus']['mean']} (95 % ДИ {data['sus']['ci_low']}–"
               f"{data['sus']['ci_high']}), n = {data['sus']['n']}"])  # fmt: skip
    ws.append([])
    ws.append(["№", "Задание", "n", "Успех", "ДИ от", "ДИ до", "Время, с", "Ошибок", "SEQ"])
    for t in data["tasks"]:
        ws.append([t["position"], t["title"], t["n"], t["success"], t["success_low"],
                   t["success_high"], t["seconds"], t["errors"], t["seq"]])  # fmt: skip
    fs = wb.create_sheet("Находки")
    fs.append(["Серьёзность", "Задание", "Находка", "Описание", "Запрос на изменение"])
    for f in data["findings"]:
        fs.append([f["severity"], f["task"], f["title"], f["description"], f["change_request_id"]])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@router.get("/labs/{study_id}", response_class=HTMLResponse)
async def study(
    request: Request,
    session: DB,
    user: Reader,
    study_id: int,
    export: Annotated[str, Query(pattern="^(|xlsx)$")] = "",
) -> Response:
    data = await report.study_report(session, scope_of(user), study_id)
    if export:
        return Response(
            _xlsx(data),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="lab-study-{study_id}.xlsx"'},
        )
    before = {t["position"]: t for t in (data["before"] or {}).get("tasks", [])}
    return render(
        request, "labs/study.html", s=data, before=before,
        columns=service.columns(len(data["tasks"])), can_edit=user.role in (Role.lab, Role.admin),
        problem=None,
    )  # fmt: skip


@router.post("/labs/{study_id}/upload", response_class=HTMLResponse, dependencies=[Csrf])
async def upload(
    request: Request, session: DB, user: LabUser, study_id: int, file: Annotated[UploadFile, File()]
) -> Response:
    suffix = Path(file.filename or "").suffix.lower()[:10]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        with path.open("wb") as out:
            shutil.copyfileobj(file.file, out)
        await service.import_file(
            session, scope_of(user), Actor(user.id, user.email), study_id, path,
            settings_of(request).import_max_bytes,
        )  # fmt: skip
    return RedirectResponse(f"/labs/{study_id}", status_code=303)


@router.post("/labs/{study_id}/findings", dependencies=[Csrf])
async def finding(
    session: DB,
    user: LabUser,
    study_id: int,
    title: Annotated[str, Form(max_length=300)],
    severity: Annotated[int, Form(ge=1, le=4)],
    task: Annotated[str, Form(max_length=3)] = "",
    description: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    await service.add_finding(
        session, scope_of(user), Actor(user.id, user.email), study_id,
        task_position=int(task) if task.isdigit() else None, severity=severity, title=title,
        description=description,
    )  # fmt: skip
    return RedirectResponse(f"/labs/{study_id}", status_code=303)


@router.post("/labs/{study_id}/findings/{finding_id}/change-request", dependencies=[Csrf])
async def finding_change(
    session: DB,
    user: LabUser,
    study_id: int,
    finding_id: int,
    change_request_id: Annotated[str, Form(max_length=20)] = "",
    service_code: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    cr = int(change_request_id) if change_request_id.strip().isdigit() else None
    await link_finding(session, user, finding_id, change_request_id=cr, service_code=service_code)
    return RedirectResponse(f"/labs/{study_id}", status_code=303)
