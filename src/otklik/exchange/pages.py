"""The reconciliation page of the transfer to ИАС МКГУ."""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from otklik.exchange import repository, service
from otklik.identity.deps import require_roles
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.kit.pagination import Page, PageParams
from otklik.kit.web import DB, render, settings_of

router = APIRouter(include_in_schema=False)
ExchangeUser = Annotated[User, Depends(require_roles(Role.coordinator, Role.analyst, Role.admin))]
STATUS_LABELS = {
    "pending": "сформирован, ждёт отправки",
    "retrying": "не принят, будет отправлен повторно",
    "acknowledged": "принят получателем",
    "split": "разделён (слишком велик для получателя)",
}


@router.get("/exchange/iasmkgu", response_class=HTMLResponse)
async def reconciliation_page(
    request: Request,
    session: DB,
    user: ExchangeUser,
    status: Annotated[Literal["", "pending", "retrying", "acknowledged", "split"], Query()] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    summary = await service.reconciliation(session, settings_of(request))
    params = PageParams.parse(page, 50, "", "")
    items, total = await repository.list_batches(session, service.RECEIVER, status or None, params)
    return render(
        request,
        "exchange/reconciliation.html",
        summary=summary,
        batches=Page(items, total, params),
        status=status,
        labels=STATUS_LABELS,
        moscow=ZoneInfo("Europe/Moscow"),
    )
