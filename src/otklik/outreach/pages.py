"""Outreach pages: the funnel, message templates, the demo outbox."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from otklik.errors import NotFound
from otklik.identity.deps import require_roles
from otklik.identity.models import User
from otklik.identity.roles import INDICATOR_READERS, Role
from otklik.kit.web import DB, render, settings_of
from otklik.outreach import funnel, repository
from otklik.outreach.links import optout_public_id
from otklik.outreach.service import REASONS
from otklik.outreach.texts import PLACE, Context
from otklik.outreach.texts import render as render_message

router = APIRouter(include_in_schema=False)
FunnelUser = Annotated[User, Depends(require_roles(*INDICATOR_READERS))]
TemplateUser = Annotated[User, Depends(require_roles(Role.coordinator, Role.analyst, Role.admin))]
AdminUser = Annotated[User, Depends(require_roles(Role.admin))]
OptOutToken = Annotated[str, Path(max_length=100)]
GROUPS = {
    "day": "по дням",
    "organization": "по организациям",
    "type": "по типам",
    "region": "по субъектам РФ",
}


@router.get("/outreach/funnel", response_class=HTMLResponse)
async def funnel_page(
    request: Request,
    session: DB,
    user: FunnelUser,
    group: Annotated[Literal["organization", "type", "region", "day"], Query()] = "day",
    days: Annotated[int, Query(ge=1, le=366)] = 30,
    date_from: Annotated[date | None, Query()] = None,
    date_to: Annotated[date | None, Query()] = None,
) -> Response:
    start, end = funnel.window(days, date_from, date_to)
    report = await funnel.build(session, user, group=group, start=start, end=end)
    return render(
        request,
        "outreach/funnel.html",
        report=report,
        group=group,
        groups=GROUPS,
        days=days,
        reasons=REASONS,
    )


@router.get("/outreach/templates", response_class=HTMLResponse)
async def templates_page(request: Request, user: TemplateUser) -> Response:
    base = settings_of(request).base_url
    samples = []
    settings = settings_of(request)
    for sector in PLACE:
        for parent, reminder in ((False, False), (False, True), (True, False)):
            ctx = Context(
                sector=sector,
                organization="ГБУЗ «Городская поликлиника № 3»"
                if sector == "healthcare"
                else "ГБОУ «Школа № 7»",
                service="Приём врача в поликлинике" if sector == "healthcare" else "Обучение",
                served_on=date(2026, 11, 20),
                link=f"{base.rstrip('/')}/s/ПРИМЕР-ССЫЛКИ",
                expires_on=date(2026, 12, 20),
                reminder=reminder,
                parent=parent,
                operator=settings.survey_operator,
                verify_url=settings.verify_url,
                unsubscribe=f"{base.rstrip('/')}/unsubscribe/ПРИМЕР",
            )
            for channel in ("portal", "email", "sms"):
                subject, text = render_message(channel, ctx)
                samples.append((sector, reminder, parent, channel, subject, text))
    return render(request, "outreach/templates.html", samples=samples)


@router.get("/demo/outbox", response_class=HTMLResponse)
async def demo_outbox(request: Request, session: DB, user: AdminUser) -> Response:
    """Development and demo only, administrators only: what the ``log`` channel sent.

    The links are live personal links, so even a demo shows them only after sign-in.
    """
    if not settings_of(request).log_channel_enabled:
        raise NotFound()
    messages = await repository.outbox(session, 50)
    return render(request, "outreach/outbox.html", messages=messages)


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
async def unsubscribe_page(request: Request, token: OptOutToken) -> Response:
    """The e-mail's opt-out link: a page with one button (a link checker's GET changes
    nothing). The token names no person, contact or SNILS (``links.optout_token``)."""
    if optout_public_id(settings_of(request).secret_key, token) is None:
        raise NotFound("Ссылка для отказа от приглашений не найдена.")
    return render(request, "outreach/unsubscribe.html", token=token, done=False)


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
async def unsubscribe(request: Request, session: DB, token: OptOutToken) -> Response:
    """Opt out: the button of the page above, or a mail client's one-click POST (RFC 8058,
    body ``List-Unsubscribe=One-Click``). The token itself is the authority: no session,
    no CSRF token (a mail provider posts without either). Repeating it changes nothing."""
    public_id = optout_public_id(settings_of(request).secret_key, token)
    if public_id is None or not await repository.opt_out(session, public_id):
        raise NotFound("Ссылка для отказа от приглашений не найдена.")
    await session.commit()
    return render(request, "outreach/unsubscribe.html", token=token, done=True)
