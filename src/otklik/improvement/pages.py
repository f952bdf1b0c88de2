"""Change-request pages: queue, list with exports, creation from evidence, detail and actions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from otklik.errors import NotFound, ValidationFailed
from otklik.identity.deps import require_roles
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.identity.service import scope_of
from otklik.improvement import attachments, checks, repository, service
from otklik.improvement.api import READERS
from otklik.improvement.evidence import resolve_evidence
from otklik.improvement.exports import table_response
from otklik.improvement.workflow import (
    CR_LABELS,
    EDITABLE,
    EVIDENCE_LABELS,
    OUTCOME_LABELS,
    OWNER_STATES,
    PROPOSERS,
    states_for,
    steps_from,
)
from otklik.kit.pagination import Page, PageParams
from otklik.kit.web import DB, render, verify_csrf

router = APIRouter(include_in_schema=False)
Reader = Annotated[User, Depends(require_roles(*READERS))]
Csrf = Depends(verify_csrf)
BASE = "/improvement/changes"


def _labels() -> dict[str, Any]:
    return {
        "cr_labels": CR_LABELS,
        "evidence_labels": EVIDENCE_LABELS,
        "outcome_labels": OUTCOME_LABELS,
    }


@router.get("/improvement", response_class=HTMLResponse)
async def hub(request: Request, session: DB, user: Reader) -> Response:
    scope = scope_of(user)
    mine = states_for(Role(user.role))
    decide = [s for s in mine if s not in OWNER_STATES]
    own = [s for s in mine if s in OWNER_STATES]
    queue, total = await repository.listing(
        session, scope, PageParams(per_page=50, sort="updated"), queue=(decide, own, user.id)
    )
    names = await repository.subject_names(
        session, {(c.subject_kind, c.subject_code) for c in queue}
    )
    return render(
        request,
        "improvement/index.html",
        queue=queue,
        queue_total=total,
        names=names,
        counts=await repository.state_counts(session, scope),
        can_create=user.role in PROPOSERS,
        **_labels(),
    )


@router.get(BASE, response_class=HTMLResponse)
async def changes(
    request: Request,
    session: DB,
    user: Reader,
    state: Annotated[str, Query(max_length=40)] = "",
    subject: Annotated[str, Query(max_length=120)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    sort: Annotated[str, Query(max_length=40)] = "-updated",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    format: Annotated[str, Query(pattern="^(|csv|xlsx)$")] = "",
) -> Response:
    if state and state not in CR_LABELS:
        raise ValidationFailed("Неизвестное состояние в фильтре.")
    export = bool(format)
    params = PageParams.parse(1 if export else page, 10_000 if export else 50, sort, q)
    if export:
        params = PageParams(1, 10_000, params.sort, params.q)
    items, total = await repository.listing(
        session, scope_of(user), params, states=[state] if state else [], subject=subject
    )
    names = await repository.subject_names(
        session, {(c.subject_kind, c.subject_code) for c in items}
    )
    if export:
        header = ["№", "Название", "Состояние", "Объект", "Владелец", "Плановый выпуск"]
        rows = [
            [
                c.id,
                c.title,
                CR_LABELS[c.state],
                names.get(f"{c.subject_kind}:{c.subject_code}", c.subject_code),
                c.owner_label,
                c.planned_release.isoformat() if c.planned_release else "",
            ]
            for c in items
        ]
        return table_response("change-requests", format, header, rows)
    return render(
        request,
        "improvement/changes.html",
        page=Page(items, total, params),
        names=names,
        state=state,
        subject=subject,
        q=q,
        **_labels(),
    )


@router.get("/improvement/sources", response_class=HTMLResponse)
async def sources(request: Request, session: DB, user: Reader) -> Response:
    found = await repository.sources(session, scope_of(user), 50)
    return render(
        request,
        "improvement/sources.html",
        insight=found["insight"],
        drops=found["drops"],
        can_create=user.role in PROPOSERS,
    )


async def _subjects(session: DB) -> list[tuple[str, str]]:
    return await repository.subject_options(session)


@router.get(BASE + "/new", response_class=HTMLResponse)
async def new_form(
    request: Request,
    session: DB,
    user: Annotated[User, Depends(require_roles(*PROPOSERS))],
    evidence: Annotated[list[str] | None, Query(max_length=20)] = None,
) -> Response:
    found = []
    for item in evidence or []:
        kind, _, ref = item.partition(":")
        found.append(await resolve_evidence(session, scope_of(user), kind, ref))
    title = ""
    if found and found[0]["snapshot"].get("name"):
        title = f"{found[0]['snapshot']['name']}: {found[0]['snapshot'].get('organization', '')}"
    return render(
        request,
        "improvement/new.html",
        evidence=found,
        subjects=await _subjects(session),
        title=title,
        **_labels(),
    )


def _decimal(value: str, label: str) -> Decimal:
    try:
        return Decimal(value.replace(",", ".").strip())
    except InvalidOperation as exc:
        raise ValidationFailed(f"{label}: нужно число.", code="bad_number") from exc


def _hypothesis(
    indicator: str, unit: str, frm: str, to: str, by: date | None
) -> service.Hypothesis | None:
    if not indicator.strip():
        return None
    if by is None:
        raise ValidationFailed("В гипотезе укажите срок.", code="bad_hypothesis")
    return service.Hypothesis(
        indicator, unit, _decimal(frm, "Исходное значение"), _decimal(to, "Ожидаемое значение"), by
    )


@router.post(BASE + "/{cr_id}/edit", dependencies=[Csrf])
async def edit(
    session: DB,
    user: Annotated[User, Depends(require_roles(*PROPOSERS))],
    cr_id: int,
    title: Annotated[str, Form(max_length=300)],
    problem: Annotated[str, Form(max_length=20000)],
    hyp_indicator: Annotated[str, Form(max_length=60)] = "",
    hyp_unit: Annotated[str, Form(max_length=40)] = "",
    hyp_from: Annotated[str, Form(max_length=20)] = "",
    hyp_to: Annotated[str, Form(max_length=20)] = "",
    hyp_by: Annotated[date | None, Form()] = None,
    planned_release: Annotated[date | None, Form()] = None,
    change: Annotated[str, Form(max_length=20000)] = "",
) -> Response:
    await service.edit_content(
        session,
        user,
        cr_id,
        title=title,
        problem=problem,
        change={"text": change.strip()} if change.strip() else {},
        hypothesis=_hypothesis(hyp_indicator, hyp_unit, hyp_from, hyp_to, hyp_by),
        planned_release=planned_release,
    )
    return RedirectResponse(f"{BASE}/{cr_id}", status_code=303)


@router.post(BASE + "/new", dependencies=[Csrf])
async def create(
    session: DB,
    user: Annotated[User, Depends(require_roles(*PROPOSERS))],
    subject: Annotated[str, Form(max_length=120)],
    title: Annotated[str, Form(max_length=300)],
    problem: Annotated[str, Form(max_length=20000)],
    evidence: Annotated[list[str] | None, Form(max_length=20)] = None,
    hyp_indicator: Annotated[str, Form(max_length=60)] = "",
    hyp_unit: Annotated[str, Form(max_length=40)] = "",
    hyp_from: Annotated[str, Form(max_length=20)] = "",
    hyp_to: Annotated[str, Form(max_length=20)] = "",
    hyp_by: Annotated[date | None, Form()] = None,
    planned_release: Annotated[date | None, Form()] = None,
    change: Annotated[str, Form(max_length=20000)] = "",
) -> Response:
    kind, _, code = subject.partition(":")
    hyp = _hypothesis(hyp_indicator, hyp_unit, hyp_from, hyp_to, hyp_by)
    pairs = [tuple(e.split(":", 1)) for e in evidence or [] if ":" in e]
    cr = await service.create_change_request(
        session,
        user,
        subject_kind=kind,
        subject_code=code,
        title=title,
        problem=problem,
        evidence=[(k, r) for k, r in pairs],
        hypothesis=hyp,
        change={"text": change.strip()} if change.strip() else {},
        planned_release=planned_release,
    )
    return RedirectResponse(f"{BASE}/{cr.id}", status_code=303)


@router.get(BASE + "/{cr_id}", response_class=HTMLResponse)
async def detail(request: Request, session: DB, user: Reader, cr_id: int) -> Response:
    cr = await repository.get(session, scope_of(user), cr_id)
    if cr is None:
        raise NotFound("Запрос на изменение не найден или вне вашей области доступа.")
    names = await repository.subject_names(session, {(cr.subject_kind, cr.subject_code)})
    return render(
        request,
        "improvement/change.html",
        cr=cr,
        subject_name=names.get(f"{cr.subject_kind}:{cr.subject_code}", cr.subject_code),
        evidence=(await repository.evidence_of(session, [cr.id]))[cr.id],
        timeline=await repository.timeline(session, "change_request", cr.id),
        files=await repository.attachments(session, "change_request", cr.id),
        steps=steps_from(cr.state, user.role),
        check=await repository.check_items(session, cr.id),
        can_check=cr.state == "control_check" and user.role == Role.analyst,
        can_attach=cr.state not in ("closed", "rejected"),
        editable=cr.state in EDITABLE and user.role in PROPOSERS,
        **_labels(),
    )


@router.post(BASE + "/{cr_id}/transition", dependencies=[Csrf])
async def do_transition(
    session: DB,
    user: Reader,
    cr_id: int,
    to: Annotated[str, Form(max_length=40)],
    comment: Annotated[str, Form(max_length=4000)] = "",
    outcome: Annotated[str, Form(max_length=20)] = "",
    version: Annotated[int | None, Form()] = None,
) -> Response:
    await service.transition(session, user, cr_id, to, comment, outcome or None, version)
    return RedirectResponse(f"{BASE}/{cr_id}", status_code=303)


@router.post(BASE + "/{cr_id}/comment", dependencies=[Csrf])
async def do_comment(
    session: DB, user: Reader, cr_id: int, text: Annotated[str, Form(max_length=4000)]
) -> Response:
    await service.comment_on(session, user, cr_id, text)
    return RedirectResponse(f"{BASE}/{cr_id}#timeline", status_code=303)


@router.post(BASE + "/{cr_id}/attachments", dependencies=[Csrf])
async def upload(
    session: DB, user: Reader, cr_id: int, file: Annotated[UploadFile, File()]
) -> Response:
    cr = await repository.get(session, scope_of(user), cr_id)
    if cr is None:
        raise NotFound("Запрос на изменение не найден или вне вашей области доступа.")
    data = await attachments.read_limited(file)
    att = await attachments.attach(
        session, "change_request", cr.id, user.id, file.filename or "", data
    )
    await repository.log(session, cr.id, user, "attachment", f"Приложен файл «{att.filename}»")
    return RedirectResponse(f"{BASE}/{cr_id}#files", status_code=303)


@router.get(BASE + "/{cr_id}/attachments/{att_id}")
async def download(session: DB, user: Reader, cr_id: int, att_id: int) -> Response:
    cr = await repository.get(session, scope_of(user), cr_id)
    att = await repository.attachment(session, "change_request", att_id)
    if cr is None or att is None or att.entity_id != cr.id:
        raise NotFound("Файл не найден.")
    return Response(
        att.data,
        media_type=att.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{_quote(att.filename)}",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name)


@router.post(BASE + "/{cr_id}/check", dependencies=[Csrf])
async def do_check(request: Request, session: DB, user: Reader, cr_id: int) -> Response:
    form = await request.form()
    results: dict[int, tuple[str, str]] = {}
    for key, value in form.multi_items():
        if key.startswith("result-") and key[7:].isdigit():
            item = int(key[7:])
            results[item] = (str(value), str(form.get(f"evidence-{item}", "")))
    await checks.record(session, user, cr_id, results)
    return RedirectResponse(f"{BASE}/{cr_id}#check", status_code=303)
