"""Pages of bodies and documents: meetings (agenda, protocol, decisions, DOCX) and passports
(versions, workflow, side-by-side diff, regional deviations, YAML/JSON import and export)."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select

from otklik.errors import ValidationFailed
from otklik.identity.deps import require_roles
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.improvement import decisions, passports
from otklik.improvement.api import READERS
from otklik.improvement.attachments import read_limited
from otklik.improvement.exports import table_response
from otklik.improvement.models import Meeting, Passport
from otklik.improvement.repository import subject_names, subject_options, timeline
from otklik.improvement.workflow import DOC_LABELS, PASSPORT_LABELS, PASSPORT_STEPS, PROPOSERS
from otklik.kit.pagination import Page, PageParams, order_by_param, paginate
from otklik.kit.web import DB, render, verify_csrf

router = APIRouter(include_in_schema=False)
Secretary = Annotated[User, Depends(require_roles(Role.wg_secretary, Role.subcommission_secretary))]
Reader = Annotated[User, Depends(require_roles(*READERS))]
Csrf = Depends(verify_csrf)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@router.get("/improvement/meetings", response_class=HTMLResponse)
async def meetings(request: Request, session: DB, user: Secretary) -> Response:
    body = decisions.body_of(user)
    rows = await session.scalars(
        select(Meeting).where(Meeting.body == body).order_by(Meeting.held_on.desc()).limit(100)
    )
    return render(
        request,
        "improvement/meetings.html",
        meetings=list(rows),
        body_label=decisions.BODY_LABELS[body],
        awaiting=await decisions.awaiting(session, body),
    )


@router.post("/improvement/meetings", dependencies=[Csrf])
async def new_meeting(
    session: DB,
    user: Secretary,
    held_on: Annotated[date, Form()],
    title: Annotated[str, Form(max_length=300)],
) -> Response:
    m = await decisions.create_meeting(session, user, held_on, title)
    return RedirectResponse(f"/improvement/meetings/{m.id}", status_code=303)


@router.get("/improvement/meetings/{meeting_id}", response_class=HTMLResponse)
async def meeting(request: Request, session: DB, user: Secretary, meeting_id: int) -> Response:
    m = await decisions.meeting(session, user, meeting_id)
    return render(
        request,
        "improvement/meeting.html",
        m=m,
        body_label=decisions.BODY_LABELS[m.body],
        items=await decisions.items(session, m.id),
        awaiting=[] if m.protocol_number else await decisions.awaiting(session, m.body),
        decision_labels=decisions.DECISION_LABELS,
    )


@router.post("/improvement/meetings/{meeting_id}/items", dependencies=[Csrf])
async def add_items(
    session: DB,
    user: Secretary,
    meeting_id: int,
    pick: Annotated[list[str] | None, Form(max_length=200)] = None,
) -> Response:
    picks: list[tuple[str, int]] = []
    for p in pick or []:
        entity, _, eid = p.partition(":")
        if not eid.isdigit():
            raise ValidationFailed("Некорректный пункт повестки.")
        picks.append((entity, int(eid)))
    if not picks:
        raise ValidationFailed("Отметьте хотя бы один вопрос для повестки.", code="empty_agenda")
    await decisions.add_items(session, user, meeting_id, picks)
    return RedirectResponse(f"/improvement/meetings/{meeting_id}", status_code=303)


@router.post("/improvement/meetings/{meeting_id}/protocol", dependencies=[Csrf])
async def protocol(
    session: DB,
    user: Secretary,
    meeting_id: int,
    number: Annotated[str, Form(max_length=40)],
    on: Annotated[date, Form()],
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    await decisions.set_protocol(session, user, meeting_id, number, on)
    if file is not None and file.filename:
        from otklik.improvement.attachments import attach

        await attach(
            session, "meeting", meeting_id, user.id, file.filename, await read_limited(file)
        )
    return RedirectResponse(f"/improvement/meetings/{meeting_id}", status_code=303)


@router.post("/improvement/meetings/{meeting_id}/items/{item_id}", dependencies=[Csrf])
async def decide(
    session: DB,
    user: Secretary,
    meeting_id: int,
    item_id: int,
    decision: Annotated[str, Form(max_length=10)],
    comment: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    await decisions.decide(session, user, item_id, decision, comment)
    return RedirectResponse(f"/improvement/meetings/{meeting_id}", status_code=303)


@router.get("/improvement/meetings/{meeting_id}/{kind}.docx")
async def meeting_docx(session: DB, user: Secretary, meeting_id: int, kind: str) -> Response:
    if kind not in ("agenda", "protocol"):
        raise ValidationFailed("Можно скачать повестку (agenda) или выписку (protocol).")
    m = await decisions.meeting(session, user, meeting_id)
    data = decisions.docx(m, await decisions.items(session, m.id), kind == "protocol")
    return Response(
        data,
        media_type=DOCX,
        headers={"Content-Disposition": f'attachment; filename="{kind}-{m.id}.docx"'},
    )


# --- passports -------------------------------------------------------------------------


@router.get("/improvement/passports", response_class=HTMLResponse)
async def passport_list(
    request: Request,
    session: DB,
    user: Reader,
    q: Annotated[str, Query(max_length=200)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
    sort: Annotated[str, Query(max_length=40)] = "subject",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    format: Annotated[str, Query(pattern="^(|csv|xlsx)$")] = "",
) -> Response:
    typical = select(Passport.id, Passport.body).subquery("typical")
    stmt = select(Passport, typical.c.body.label("typical_body")).outerjoin(
        typical, typical.c.id == Passport.base_id
    )
    if q:
        stmt = stmt.where(Passport.subject_code.ilike(f"%{q.replace('%', '')}%"))
    if status:
        stmt = stmt.where(Passport.status == status)
    cols: dict[str, Any] = {
        "subject": Passport.subject_code,
        "region": func.coalesce(Passport.region_code, ""),
        "status": Passport.status,
        "version": Passport.version,
    }
    stmt, _ = order_by_param(stmt, sort, cols, "subject")
    stmt = stmt.order_by(Passport.doc, Passport.version)
    params = PageParams.parse(1 if format else page, 10_000 if format else 50, sort, q)
    if format:
        params = PageParams(1, 10_000, params.sort, params.q)
    rows, total = await paginate(session, stmt, params, scalars=False)
    items = [
        (p, len(passports.deviations(p.body, tb)) if tb is not None else None) for p, tb in rows
    ]
    names = await subject_names(session, {(p.subject_kind, p.subject_code) for p, _ in items})
    if format:
        header = ["Объект", "Документ", "Субъект РФ", "Версия", "Состояние", "Отклонений"]
        data = [
            [
                names.get(f"{p.subject_kind}:{p.subject_code}", p.subject_code),
                DOC_LABELS[p.doc],
                p.region_code or "типовой",
                p.version,
                PASSPORT_LABELS[p.status],
                "" if d is None else d,
            ]
            for p, d in items
        ]
        return table_response("passports", format, header, data)
    return render(
        request,
        "improvement/passports.html",
        page=Page(items, total, params),
        names=names,
        q=q,
        status=status,
        labels=PASSPORT_LABELS,
        docs=DOC_LABELS,
        subjects=await subject_options(session) if user.role in PROPOSERS else [],
    )


@router.get("/improvement/passports/diff", response_class=HTMLResponse)
async def passport_diff(request: Request, session: DB, user: Reader, a: int, b: int) -> Response:
    pa, pb = await passports.get(session, a), await passports.get(session, b)
    return render(
        request,
        "improvement/diff.html",
        pa=pa,
        pb=pb,
        rows=passports.diff(pa.body, pb.body),
        labels=PASSPORT_LABELS,
        docs=DOC_LABELS,
    )


@router.get("/improvement/passports/{pid}", response_class=HTMLResponse)
async def passport(request: Request, session: DB, user: Reader, pid: int) -> Response:
    p = await passports.get(session, pid)
    base = await session.get(Passport, p.base_id) if p.base_id else None
    others = await session.execute(
        select(Passport.id, Passport.version, Passport.status)
        .where(
            Passport.subject_kind == p.subject_kind,
            Passport.subject_code == p.subject_code,
            Passport.doc == p.doc,
            func.coalesce(Passport.region_code, "") == (p.region_code or ""),
            Passport.id != p.id,
        )
        .order_by(Passport.version)
    )
    steps = [
        (to, s)
        for (frm, to), s in PASSPORT_STEPS.items()
        if frm == p.status and Role(user.role) in s.roles
    ]
    return render(
        request,
        "improvement/passport.html",
        p=p,
        subject_name=(await subject_names(session, {(p.subject_kind, p.subject_code)})).get(
            f"{p.subject_kind}:{p.subject_code}", p.subject_code
        ),
        base=base,
        deviations=passports.deviations(p.body, base.body) if base else [],
        versions=list(others.all()),
        steps=steps,
        labels=PASSPORT_LABELS,
        docs=DOC_LABELS,
        timeline=await timeline(session, "passport", p.id),
        body_json=json.dumps(p.body, ensure_ascii=False, indent=2),
        metrics=passports.METRICS,
        channels=passports.CHANNELS,
        can_edit=p.status == "draft" and user.role in PROPOSERS,
        can_copy=user.role in PROPOSERS,
    )


@router.post("/improvement/passports/{pid}/transition", dependencies=[Csrf])
async def passport_transition(
    session: DB,
    user: Reader,
    pid: int,
    to: Annotated[str, Form(max_length=20)],
    comment: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    await passports.transition_passport(session, user, pid, to, comment)
    return RedirectResponse(f"/improvement/passports/{pid}", status_code=303)


@router.post("/improvement/passports/{pid}/new-version", dependencies=[Csrf])
async def passport_new_version(session: DB, user: Reader, pid: int) -> Response:
    """A new draft version starting from this one (an approved version itself never changes)."""
    p = await passports.get(session, pid)
    new = await passports.create_version(
        session,
        user,
        subject_kind=p.subject_kind,
        subject_code=p.subject_code,
        doc=p.doc,
        body=p.body,
        region_code=p.region_code,
    )
    return RedirectResponse(f"/improvement/passports/{new.id}", status_code=303)


@router.post("/improvement/passports/{pid}/edit", dependencies=[Csrf])
async def passport_edit(
    session: DB, user: Reader, pid: int, body: Annotated[str, Form(max_length=200_000)]
) -> Response:
    await passports.edit_draft(session, user, pid, _yaml_body(body))
    return RedirectResponse(f"/improvement/passports/{pid}", status_code=303)


def _yaml_body(text: str) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationFailed("Текст документа не читается как YAML или JSON.") from exc
    if not isinstance(data, dict):
        raise ValidationFailed("Документ должен быть объектом с полями steps, documents, ...")
    return data


@router.get("/improvement/passports/{pid}/export.{fmt}")
async def passport_export(session: DB, user: Reader, pid: int, fmt: str) -> Response:
    if fmt not in ("json", "yaml"):
        raise ValidationFailed("Формат выгрузки: json или yaml.")
    p = await passports.get(session, pid)
    media = "application/json" if fmt == "json" else "application/yaml"
    return Response(
        passports.dump(p, fmt),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="passport-{p.id}.{fmt}"'},
    )


@router.post("/improvement/passports/import", dependencies=[Csrf])
async def passport_import(
    session: DB,
    user: Annotated[User, Depends(require_roles(*PROPOSERS))],
    file: Annotated[UploadFile, File()],
) -> Response:
    raw = await read_limited(file)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed("Файл должен быть в кодировке UTF-8.", code="bad_file") from exc
    data = passports.load_text(text)
    p = await passports.create_version(
        session,
        user,
        subject_kind=str(data.get("subject_kind", "")),
        subject_code=str(data.get("subject_code", "")),
        doc=str(data.get("doc", "")),
        body=data["body"],
        region_code=data.get("region_code") or None,
    )
    return RedirectResponse(f"/improvement/passports/{p.id}", status_code=303)
