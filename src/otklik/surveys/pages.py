"""Survey pages: the respondent form at /s/{token}, the thank-you page (it links to the
organization's "you said - we did" page, which lives in ``yswd``), and questionnaire versions
for coordinators (upload, preview, publish)."""

from __future__ import annotations

import logging
from collections.abc import Hashable
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from otklik.db import FactoryStatements, Statements, transaction
from otklik.errors import (
    DomainError,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from otklik.identity.audit import Actor
from otklik.identity.deps import require_roles
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.kit.hostile import reject_nul
from otklik.kit.ratelimit import TokenBuckets, limits_of
from otklik.kit.web import DB, client_key, render, settings_of, templates, verify_csrf
from otklik.outreach.citizen import LinkGone
from otklik.outreach.links import token_hash
from otklik.registry.models import SECTOR_LABELS, Sector
from otklik.surveys import fragments, service, versions
from otklik.surveys.answers import Checked, ordered_errors
from otklik.surveys.definitions import MAX_FILE_BYTES, RATING_LABELS, Definition, Question

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
Csrf = Depends(verify_csrf)
Coordinator = Annotated[User, Depends(require_roles(Role.coordinator, Role.admin))]
GONE = {
    "used": "По этой услуге анкету уже заполнил другой член семьи или представитель. "
    "Спасибо, что готовы были ответить — второй ответ по одной услуге не нужен.",
    "expired": "Срок действия ссылки истёк: анкету можно было заполнить в течение "
    "30 дней после получения услуги.",
}
MAX_FIELDS = 100
FORM_TYPE = "application/x-www-form-urlencoded"


def _too_many(retry: int) -> str:
    return (
        f"Слишком много запросов. Подождите {retry} с и попробуйте снова — "
        "ваши ответы не потеряются, если сохранить черновик."
    )


def _limits(request: Request) -> tuple[TokenBuckets, TokenBuckets]:
    state = request.app.state
    if not hasattr(state, "survey_limits"):
        s = settings_of(request)
        shared = limits_of(state, s)
        state.survey_limits = (
            shared.limiter("survey.address", s.survey_ip_per_minute, _too_many),
            shared.limiter("survey.link", s.survey_token_per_minute, _too_many),
        )
    limits: tuple[TokenBuckets, TokenBuckets] = state.survey_limits
    return limits


async def _take(request: Request, *keys: tuple[int, Hashable]) -> None:
    """Spend a request from each bucket (0 address, 1 link); ``TooManyRequests`` (429 page with
    Retry-After) when one is empty."""
    limits = _limits(request)
    for which, key in keys:
        await limits[which].take(key)


def _large(request: Request) -> bool:
    if not request.scope.get("query_string"):
        return False  # the usual link: no query string to parse
    return request.query_params.get("text") == "large"


async def _read_fields(request: Request, limit: int) -> list[tuple[str, str]]:
    if request.headers.get("content-type", "").split(";")[0].strip() != FORM_TYPE:
        raise UnsupportedMediaType("Анкета отправляется обычной формой.")
    if int(request.headers.get("content-length") or 0) > limit:
        raise PayloadTooLarge(f"Анкета больше {limit // 1024} КБ: сократите комментарий.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"Анкета больше {limit // 1024} КБ: сократите комментарий.")
    try:
        return parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            max_num_fields=MAX_FIELDS,
            strict_parsing=False,
        )
    except (UnicodeDecodeError, ValueError):
        raise ValidationFailed("Форма повреждена: обновите страницу и ответьте снова.") from None


def blank_question(definition: Definition, q: Question) -> Markup:
    """The HTML of a question without an answer or an error (the same as the ``question``
    macro with empty values), rendered once per version in each process."""
    cache = definition._blank_html
    html = cache.get(q.code)
    if html is None:
        macro = templates.env.get_template("surveys/macros.html").module.question  # type: ignore[attr-defined]
        html = cache[q.code] = macro(q, {}, {}, RATING_LABELS)  # Markup: autoescaped
    return html


templates.env.globals["blank_question"] = blank_question


def _form_page(
    request: Request,
    form: service.Form,
    checked: Checked,
    *,
    saved: bool = False,
    status_code: int = 200,
) -> Response:
    if not (checked.values or checked.errors or saved):  # the blank form: from fragments
        page = fragments.form_page(
            form.definition, form.questions, form.ctx, form.token, _large(request)
        )
        return HTMLResponse(page, status_code=status_code)
    return render(
        request,
        "surveys/form.html",
        status_code=status_code,
        form=form,
        ctx=form.ctx,
        values=checked.values,
        errors=checked.errors,
        error_list=ordered_errors(form.questions, checked.errors),
        saved=saved,
        large=_large(request),
        labels=RATING_LABELS,
    )


def _thanks(request: Request, ctx: object) -> Response:
    return HTMLResponse(fragments.thanks_page(ctx, _large(request)))


def _gone(request: Request, exc: LinkGone) -> Response:
    if exc.reason == "answered" and exc.invitation is not None:
        return _thanks(request, exc.invitation)
    message = GONE.get(exc.reason, GONE["used"])
    return render(
        request, "surveys/gone.html", status_code=410, message=message, large=_large(request)
    )


def _statements(request: Request) -> Statements:
    """The application's statement pool (autocommit, no ORM); with a session factory only
    (tests), each statement in a transaction of its own from it."""
    pool: Statements | None = getattr(request.app.state, "statements", None)
    return pool or FactoryStatements(request.app.state.sessionmaker)


# The two respondent endpoints are plain Starlette routes (``router.add_route`` below): no
# FastAPI dependency solving or parameter validation on the busiest public path; the NUL check
# every FastAPI route gets as a dependency is called directly.


async def questionnaire(request: Request) -> Response:
    """The respondent form; a partial answer comes back from its draft. One statement."""
    await reject_nul(request)
    token = request.path_params["token"]
    await _take(request, (0, client_key(request)))
    try:
        form = await service.open_form(
            _statements(request), token, draft_secret=settings_of(request).secret_key
        )
    except LinkGone as exc:
        return _gone(request, exc)
    if form is None:
        return render(request, "surveys/unknown.html", status_code=404, large=_large(request))
    return _form_page(request, form, Checked(values=form.draft))


async def answer(request: Request) -> Response:
    """Save a draft (``action=save``, or the autosave script) or submit the answer (two
    statements, each its own transaction: the form, then the answer stored under the lock)."""
    await reject_nul(request)
    token = request.path_params["token"]
    settings = settings_of(request)
    await _take(request, (0, client_key(request)), (1, token_hash(token)))
    fields = await _read_fields(request, settings.survey_max_body_bytes)
    db = _statements(request)
    try:
        form = await service.open_form(db, token)
    except LinkGone as exc:
        return _gone(request, exc)
    if form is None:
        return render(request, "surveys/unknown.html", status_code=404, large=_large(request))
    named = dict(fields)
    if named.get("website"):
        # The honeypot: people never see this field. Spam gets a thank-you and is not stored.
        log.info("survey honeypot filled; nothing stored")
        return _thanks(request, form.ctx)
    autosave = request.headers.get("x-autosave") == "1"
    if autosave or named.get("action") == "save":
        async with transaction(request.app.state.sessionmaker) as session:
            checked = await service.save_draft(session, settings, form, fields)
        if autosave:
            return Response(status_code=204)
        return _form_page(request, form, checked, saved=not checked.errors)
    try:
        checked = await service.submit(db, settings, form, fields)
    except LinkGone as exc:
        return _gone(request, exc)
    if checked.errors:
        return _form_page(request, form, checked, status_code=422)
    return _thanks(request, form.ctx)


router.add_route("/s/{token}", questionnaire, methods=["GET"], include_in_schema=False)
router.add_route("/s/{token}", answer, methods=["POST"], include_in_schema=False)


# --- questionnaire versions (coordinators) ---


async def _versions_page(
    request: Request, session: DB, *, problem: str | None = None, status_code: int = 200
) -> Response:
    return render(
        request,
        "surveys/versions.html",
        status_code=status_code,
        versions=await versions.listing(session),
        problem=problem,
        max_kb=MAX_FILE_BYTES // 1024,
    )


@router.get("/surveys/versions", response_class=HTMLResponse)
async def versions_page(request: Request, session: DB, user: Coordinator) -> Response:
    return await _versions_page(request, session)


@router.post("/surveys/versions", response_class=HTMLResponse, dependencies=[Csrf])
async def upload_version(
    request: Request, session: DB, user: Coordinator, file: Annotated[UploadFile, File()]
) -> Response:
    content = await file.read(MAX_FILE_BYTES + 1)
    try:
        d = await versions.upload(session, Actor(user.id, user.email), content, file.filename or "")
    except DomainError as exc:
        return await _versions_page(request, session, problem=exc.message, status_code=422)
    return RedirectResponse(f"/surveys/versions/{d.version}", status_code=303)


@router.get("/surveys/versions/{version}", response_class=HTMLResponse)
async def preview_version(
    request: Request,
    session: DB,
    user: Coordinator,
    version: str,
    sector: Annotated[Sector, Query()] = Sector.healthcare,
) -> Response:
    row, d = await versions.get(session, version)
    return render(
        request,
        "surveys/version.html",
        row=row,
        definition=d,
        sector=sector.value,
        sectors=[(s.value, SECTOR_LABELS[s.value]) for s in Sector],
        questions=d.for_sector(sector.value),
        labels=RATING_LABELS,
        values={},
        errors={},
    )


@router.post(
    "/surveys/versions/{version}/publish", response_class=HTMLResponse, dependencies=[Csrf]
)
async def publish_version(
    request: Request, session: DB, user: Coordinator, version: str
) -> Response:
    try:
        await versions.publish(session, Actor(user.id, user.email), version)
    except ValidationFailed as exc:
        return await _versions_page(request, session, problem=exc.message, status_code=422)
    return RedirectResponse(f"/surveys/versions/{version}", status_code=303)
