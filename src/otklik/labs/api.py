"""Labs API: a study's report with SUS mean and interval, tasks and findings."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from otklik.identity.deps import DB, require_roles
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.identity.service import scope_of
from otklik.intake.schemas import ErrorOut
from otklik.labs import report

router = APIRouter(prefix="/api/v1/labs", tags=["labs"])
READERS = (Role.lab, Role.analyst, Role.coordinator, Role.participant, Role.admin)
Reader = Annotated[User, Depends(require_roles(*READERS, api=True))]


@router.get(
    "/studies/{study_id}",
    responses={
        401: {"model": ErrorOut, "description": "unauthorized"},
        403: {"model": ErrorOut, "description": "forbidden"},
        404: {"model": ErrorOut, "description": "not_found"},
    },
    summary="Исследование: SUS (среднее и интервал), задания, находки, сравнение до/после",
)
async def get_study(session: DB, user: Reader, study_id: int) -> dict[str, Any]:
    return await report.study_report(session, scope_of(user), study_id)
