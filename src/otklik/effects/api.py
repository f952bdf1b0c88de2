"""Effects API: one assessment (by its id), and computing it when its window has ended."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends

from otklik.effects import repository, service
from otklik.effects.schemas import EffectOut
from otklik.errors import NotFound
from otklik.identity.deps import DB, require_roles
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.identity.service import now_utc, scope_of
from otklik.indicators.repository import MOSCOW
from otklik.intake.schemas import ErrorOut

router = APIRouter(prefix="/api/v1", tags=["effects"])
READERS = (
    Role.organization,
    Role.regional_authority,
    Role.federal_authority,
    Role.coordinator,
    Role.analyst,
    Role.participant,
    Role.subcommission_secretary,
    Role.wg_secretary,
    Role.admin,
)
Reader = Annotated[User, Depends(require_roles(*READERS, api=True))]
Analyst = Annotated[User, Depends(require_roles(Role.analyst, Role.admin, api=True))]
ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorOut, "description": "unauthorized, invalid_token"},
    403: {"model": ErrorOut, "description": "forbidden"},
    404: {"model": ErrorOut, "description": "not_found"},
    409: {"model": ErrorOut, "description": "effect_not_ready (window_open)"},
}


@router.get(
    "/effects/{assessment_id}",
    response_model=EffectOut,
    responses=ERRORS,
    summary="Оценка эффекта изменения",
)
async def get_effect(session: DB, user: Reader, assessment_id: int) -> EffectOut:
    a = await repository.get(session, scope_of(user), assessment_id)
    if a is None:
        raise NotFound("Оценка эффекта не найдена или вне вашей области доступа.")
    return EffectOut.of(a)


@router.post(
    "/effects/{assessment_id}/compute",
    response_model=EffectOut,
    responses=ERRORS,
    summary="Рассчитать эффект",
)
async def compute_effect(session: DB, user: Analyst, assessment_id: int) -> EffectOut:
    a = await repository.get(session, scope_of(user), assessment_id)
    if a is None:
        raise NotFound("Оценка эффекта не найдена или вне вашей области доступа.")
    await service.compute(session, a, datetime.now(MOSCOW).date(), now_utc())
    return EffectOut.of(a)
