"""Effects API: one assessment (by its id), and computing it when its window has ended."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from otklik.effects import links, repository, service
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


class CloseIn(BaseModel):
    reason: str = Field(default="", max_length=2000)


@router.get(
    "/change-requests/{cr_id}/effect",
    response_model=EffectOut,
    responses=ERRORS,
    summary="Измеренный эффект запроса на изменение",
)
async def change_effect(session: DB, user: Reader, cr_id: int) -> EffectOut:
    a = await repository.for_change(session, scope_of(user), cr_id)
    if a is None:
        raise NotFound("Эффект этого запроса ещё не оценивался.", code="no_assessment")
    return EffectOut.of(a)


@router.post(
    "/change-requests/{cr_id}/effect",
    response_model=EffectOut,
    responses={
        **ERRORS,
        422: {"model": ErrorOut, "description": "no_hypothesis, no_release_date, not_released"},
    },
    summary="Оценить эффект выпущенного изменения",
)
async def assess(session: DB, user: Analyst, cr_id: int) -> EffectOut:
    a = await links.assess_change(session, user, cr_id, datetime.now(MOSCOW).date(), now_utc())
    return EffectOut.of(a)


@router.post(
    "/change-requests/{cr_id}/close-with-effect",
    responses={**ERRORS, 422: {"model": ErrorOut, "description": "assessment_required"}},
    summary="Закрыть запрос с выводом об эффекте (или с причиной, почему его нельзя оценить)",
)
async def close(session: DB, user: Analyst, cr_id: int, body: CloseIn) -> dict[str, str]:
    return {"outcome": await links.close_change(session, user, cr_id, body.reason)}
