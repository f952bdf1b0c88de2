"""Priorities API: the ranking with contributions and stability; participants' indicators."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query

from otklik.identity.audit import Actor
from otklik.identity.deps import require_roles
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.indicators.periods import parse_period
from otklik.intake.schemas import ErrorOut
from otklik.kit.web import DB
from otklik.mszu.api import VIEW_ROLES
from otklik.mszu.statistics import today_moscow
from otklik.priorities import kpis, service
from otklik.priorities.schemas import CriteriaOut, KpisOut, PrioritiesOut

router = APIRouter(prefix="/api/v1", tags=["priorities"])
Viewer = Annotated[User, Depends(require_roles(*VIEW_ROLES, api=True))]
Analyst = Annotated[User, Depends(require_roles(Role.analyst, api=True))]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
    422: {"model": ErrorOut},
}


def ranked_out(r: service.Ranked) -> dict[str, Any]:
    return {
        "subject": f"{r.kind}:{r.code}",
        "name": r.name,
        "rank": r.rank,
        "score": r.score,
        "contributions": r.contributions,
        "rank_range": list(r.rank_range),
        "no_data": r.missing,
    }


@router.get(
    "/priorities",
    response_model=PrioritiesOut,
    responses=ERRORS,
    summary="Рейтинг услуг и жизненных ситуаций",
)
async def get_priorities(
    session: DB,
    user: Viewer,
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> dict[str, Any]:
    """Rank, score, each criterion's contribution and the rank range under ±20 % weights."""
    v, items, (start, end) = await service.ranking(session, version)
    return {
        "version": v.version,
        "weights": v.weights,
        "window": f"{start.isoformat()}..{end.isoformat()}",
        "items": [ranked_out(r) for r in items],
    }


@router.post(
    "/priorities/criteria",
    response_model=CriteriaOut,
    responses=ERRORS,
    summary="Новая версия весов критериев",
)
async def post_criteria(
    session: DB,
    user: Analyst,
    weights: Annotated[dict[str, Any], Body(embed=True)],
    note: Annotated[str, Body(embed=True, max_length=2000)] = "",
) -> dict[str, Any]:
    v = await service.save_version(session, Actor(user.id, user.email), weights, note)
    return {"version": v.version, "weights": v.weights}


@router.get(
    "/participants/{code}/kpis",
    response_model=KpisOut,
    responses=ERRORS,
    summary="Показатели эффективности участника",
)
async def get_kpis(
    session: DB,
    user: Viewer,
    code: str,
    period: Annotated[str, Query(max_length=40)] = "",
) -> dict[str, Any]:
    p = parse_period(period or str(today_moscow().year))
    mine, peers, external = await kpis.participant(session, user, code, p)
    return {
        "participant": code,
        "name": mine.name,
        "period": p.text,
        "response_rate": {
            "value": mine.response_rate,
            "n": mine.delivered,
            "responses": mine.responses,
            "target": kpis.TARGET_RATE,
        },
        "satisfaction_change": {
            "value": mine.change,
            "ci": list(mine.change_ci) if mine.change_ci else None,
            "mean": mine.mean_now,
            "n": mine.n_now,
            "mean_year_before": mine.mean_before,
            "n_year_before": mine.n_before,
        },
        **external,
        "trend": await kpis.trend(session, *kpis.parse_code(code), p),
        "peers": len(peers),
    }
