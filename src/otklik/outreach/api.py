"""Outreach API: delivery-status callbacks from the portal and the SMS gateway; the funnel."""

from __future__ import annotations

import hmac
import uuid
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from otklik.errors import NotFound, Unauthorized
from otklik.identity.deps import require_roles
from otklik.identity.models import User
from otklik.identity.roles import INDICATOR_READERS
from otklik.intake.schemas import ErrorOut
from otklik.kit.openapi import CALLBACK_SECURITY
from otklik.kit.web import DB, settings_of
from otklik.outreach import funnel
from otklik.outreach.schemas import FunnelOut
from otklik.outreach.service import delivery_status

router = APIRouter(prefix="/api/v1", tags=["outreach"])


class DeliveryStatusIn(BaseModel):
    idempotency_key: uuid.UUID = Field(description="ключ, переданный при отправке сообщения")
    status: Literal["delivered", "failed"]
    reason: str = Field(default="", max_length=200)


class DeliveryStatusOut(BaseModel):
    ok: bool


@router.post(
    "/outreach/delivery-status",
    response_model=DeliveryStatusOut,
    responses={401: {"model": ErrorOut}, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
    summary="Статус доставки сообщения (портал, SMS-шлюз)",
    openapi_extra=CALLBACK_SECURITY,
)
async def post_delivery_status(
    request: Request, session: DB, body: DeliveryStatusIn
) -> DeliveryStatusOut:
    """Authenticated with ``Authorization: Bearer <OTKLIK_DELIVERY_CALLBACK_TOKEN>``."""
    settings = settings_of(request)
    expected = settings.delivery_callback_token
    auth = request.headers.get("authorization", "")
    sent = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Unauthorized("Неверный токен обратного вызова.", code="unauthorized")
    if not await delivery_status(session, settings, body.idempotency_key, body.status, body.reason):
        raise NotFound("Сообщение с таким ключом не найдено.")
    return DeliveryStatusOut(ok=True)


@router.get(
    "/outreach/funnel",
    response_model=FunnelOut,
    responses={400: {"model": ErrorOut}, 401: {"model": ErrorOut}, 403: {"model": ErrorOut}},
    summary="Воронка: услуги → приглашения → ответы, с причинами отсева",
)
async def get_funnel(
    session: DB,
    user: Annotated[User, Depends(require_roles(*INDICATOR_READERS, api=True))],
    group: Annotated[Literal["organization", "type", "region", "day"], Query()] = "day",
    days: Annotated[int, Query(ge=1, le=366, description="последние N дней (по дате услуги)")] = 30,
    date_from: Annotated[
        date | None, Query(description="начало периода по дате услуги (вместе с date_to)")
    ] = None,
    date_to: Annotated[date | None, Query(description="конец периода по дате услуги")] = None,
) -> FunnelOut:
    start, end = funnel.window(days, date_from, date_to)
    return await funnel.build(session, user, group=group, start=start, end=end)
