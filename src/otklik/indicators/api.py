"""Indicators API: one unit, one period, one methodology version."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from otklik.identity.deps import require_roles
from otklik.identity.models import User
from otklik.identity.roles import INDICATOR_READERS
from otklik.identity.service import scope_of
from otklik.indicators import service
from otklik.indicators.schemas import IndicatorsOut
from otklik.intake.schemas import ErrorOut
from otklik.kit.clock import moscow_date
from otklik.kit.web import ReadDB

router = APIRouter(prefix="/api/v1", tags=["indicators"])
IndicatorUser = Annotated[User, Depends(require_roles(*INDICATOR_READERS, api=True))]


@router.get(
    "/indicators",
    response_model=IndicatorsOut,
    responses={
        400: {
            "model": ErrorOut,
            "description": "bad_unit, bad_period, period_backwards, period_too_long, "
            "period_not_allowed (диапазон дат, разность которого с другим раскрыла бы ответы), "
            "bad_aggregation",
        },
        401: {"model": ErrorOut, "description": "unauthorized, invalid_token"},
        403: {"model": ErrorOut, "description": "forbidden, out_of_scope"},
        404: {"model": ErrorOut, "description": "unit_not_found, methodology_not_found"},
        422: {"model": ErrorOut, "description": "validation_failed (нет обязательного параметра)"},
    },
    summary="Показатели единицы за период (с n, интервалами, целями)",
)
async def get_indicators(
    session: ReadDB,
    user: IndicatorUser,
    unit: Annotated[str, Query(description="вид:код, например organization:1027700132195")],
    period: Annotated[str, Query(description="2026, 2026-Q3, 2026-11, 2026-11-01..2026-11-30")],
    methodology: Annotated[str | None, Query(description="версия методики")] = None,
    aggregation: Annotated[
        Literal["pooled", "unweighted"],
        Query(description="pooled — по ответам; unweighted — среднее значений организаций (344н)"),
    ] = "pooled",
) -> IndicatorsOut:
    """Scores, shares, counts and targets of a unit in the caller's scope."""
    today = moscow_date()
    return await service.indicators(
        session, scope_of(user), unit, period, methodology, today, aggregation
    )
