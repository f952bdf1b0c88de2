"""Every query of the labs domain; region-scoped labs see their region's studies."""

from __future__ import annotations

from typing import Any

from sqlalchemy import false, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.roles import ScopeKind
from otklik.kit.pagination import PageParams, like_pattern, order_by_param, paginate
from otklik.kit.scope import Scope
from otklik.labs.models import LabFinding, LabResult, LabSession, LabStudy, LabTask


def _scoped(stmt: Any, scope: Scope) -> Any:
    """Studies carry a region (or none: national); they have no organization or founder."""
    if scope.kind is ScopeKind.country:
        return stmt
    if scope.kind is ScopeKind.region and scope.region_code:
        return stmt.where(LabStudy.region_code == scope.region_code)
    return stmt.where(false())


async def study(session: AsyncSession, scope: Scope, study_id: int) -> LabStudy | None:
    stmt = _scoped(select(LabStudy).where(LabStudy.id == study_id), scope)
    found: LabStudy | None = (await session.scalars(stmt)).one_or_none()
    return found


async def tasks(session: AsyncSession, study_id: int) -> list[LabTask]:
    stmt = select(LabTask).where(LabTask.study_id == study_id).order_by(LabTask.position)
    return list((await session.scalars(stmt)).all())


async def participants(session: AsyncSession, study_id: int) -> set[str]:
    stmt = select(LabSession.participant).where(LabSession.study_id == study_id)
    return set((await session.scalars(stmt)).all())


async def sus_scores(session: AsyncSession, study_id: int) -> list[float]:
    stmt = select(LabSession.sus_score).where(LabSession.study_id == study_id)
    return [float(v) for v in (await session.scalars(stmt)).all()]


async def results(session: AsyncSession, study_id: int) -> list[Any]:
    stmt = (
        select(
            LabTask.position, LabResult.success, LabResult.seconds, LabResult.errors, LabResult.seq
        )
        .join(LabTask, LabTask.id == LabResult.task_id)
        .where(LabTask.study_id == study_id)
    )
    return list((await session.execute(stmt)).all())


async def demographics(session: AsyncSession, study_id: int) -> list[Any]:
    stmt = (
        select(LabSession.age_band, LabSession.disability, LabSession.digital, func.count())
        .where(LabSession.study_id == study_id)
        .group_by(LabSession.age_band, LabSession.disability, LabSession.digital)
        .order_by(LabSession.age_band)
    )
    return list((await session.execute(stmt)).all())


async def findings(session: AsyncSession, study_id: int) -> list[Any]:
    stmt = (
        select(LabFinding, LabTask.position)
        .outerjoin(LabTask, LabTask.id == LabFinding.task_id)
        .where(LabFinding.study_id == study_id)
        .order_by(LabFinding.severity, LabFinding.id)
    )
    return list((await session.execute(stmt)).all())


async def listing(
    session: AsyncSession, scope: Scope, params: PageParams
) -> tuple[list[LabStudy], int]:
    stmt = _scoped(select(LabStudy), scope)
    if params.q:
        p = like_pattern(params.q)
        stmt = stmt.where(LabStudy.title.ilike(p) | LabStudy.subject.ilike(p))
    stmt, _ = order_by_param(
        stmt,
        params.sort,
        {"id": LabStudy.id, "title": LabStudy.title},  # type: ignore[dict-item]
        "-id",
    )
    return await paginate(session, stmt, params)
