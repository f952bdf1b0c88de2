"""Roadmap rules on a real database: creation checks, the workflow, reports, baseline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import Forbidden, ValidationFailed
from otklik.roadmaps import repository, service
from otklik.roadmaps.models import Measure, Roadmap
from otklik.roadmaps.schemas import ReplanIn, ReportIn, RoadmapIn
from otklik.roadmaps.service import TransitionConflict, find_cycle

from .factories import NOW, TODAY, People, active, day, draft, payload


def test_find_cycle_names_the_loop() -> None:
    assert find_cycle({"a": [], "b": ["a"], "c": ["b"]}) is None
    assert find_cycle({"a": ["c"], "b": ["a"], "c": ["b"], "d": ["a"]}) in (
        ["a", "c", "b", "a"],
        ["c", "b", "a", "c"],
        ["b", "a", "c", "b"],
    )


async def test_a_dependency_cycle_is_refused_and_nothing_is_written(session: AsyncSession) -> None:
    p = await People(session).make()
    data = payload(p.owner.email)
    data["measures"][0]["depends_on"] = ["c"]
    before = await session.scalar(select(func.count()).select_from(Roadmap))
    with pytest.raises(ValidationFailed, match="цикл"):
        await service.create(session, p.owner, RoadmapIn.model_validate(data), NOW)
    assert await session.scalar(select(func.count()).select_from(Roadmap)) == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"planned_start": day(5), "planned_due": day(1)}, "раньше начала"),
        ({"depends_on": ["zzz"]}, "неизвестного"),
        ({"owner": "nobody@example.test"}, "активным участником"),
    ],
)
async def test_bad_measures_are_refused_precisely(
    session: AsyncSession, change: dict[str, object], message: str
) -> None:
    p = await People(session).make()
    data = payload(p.owner.email)
    data["measures"][1].update(change)
    with pytest.raises(ValidationFailed, match=message):
        await service.create(session, p.owner, RoadmapIn.model_validate(data), NOW)


async def test_unknown_subject_and_owner_out_of_scope(session: AsyncSession) -> None:
    p = await People(session).make()
    with pytest.raises(ValidationFailed, match="не найден"):
        await draft(session, p.owner, subject={"kind": "service", "code": "no.such"})
    from otklik.identity.roles import Role
    from tests.factories import create_user

    other = await create_user(session, Role.participant, "region:77")
    data = payload(p.owner.email)
    data["measures"][2]["owner"] = other.email
    with pytest.raises(ValidationFailed, match="другая область"):
        await service.create(session, p.owner, RoadmapIn.model_validate(data), NOW)


async def test_workflow_is_role_gated_and_takes_the_baseline(session: AsyncSession) -> None:
    p = await People(session).make()
    roadmap = await draft(session, p.owner)
    assert roadmap.region_code == "16"
    with pytest.raises(TransitionConflict):
        await service.transition(session, p.sub, roadmap.id, "subcommission_approved", "", NOW)
    with pytest.raises(Forbidden):
        await service.transition(session, p.owner, roadmap.id, "wg_approved", "", NOW)
    await service.transition(session, p.wg, roadmap.id, "wg_approved", "", NOW)
    with pytest.raises(ValidationFailed, match="причину"):
        await service.transition(session, p.sub, roadmap.id, "draft", " ", NOW)
    await service.transition(session, p.sub, roadmap.id, "subcommission_approved", "", NOW)
    rows = await repository.measures(session, roadmap.id, NOW)
    assert all(r.Measure.baseline_due == r.Measure.planned_due for r in rows)
    # the loser of two concurrent transitions from the same state gets a conflict
    assert await repository.move_state(session, roadmap.id, "subcommission_approved", "active", NOW)
    assert not await repository.move_state(
        session, roadmap.id, "subcommission_approved", "active", NOW
    )
    with pytest.raises(TransitionConflict, match="все мероприятия"):
        await service.transition(session, p.owner, roadmap.id, "completed", "", NOW)


async def test_reports_and_replanning_keep_the_baseline(session: AsyncSession) -> None:
    p = await People(session).make()
    roadmap = await active(session, p)
    first = (await repository.measures(session, roadmap.id, NOW))[0].Measure
    report = ReportIn(percent=40, text="Сделано расписание", forecast_due=TODAY + timedelta(5))
    with pytest.raises(Forbidden):
        await service.report(session, p.analyst, roadmap.id, first.id, report, NOW, TODAY)
    past = ReportIn(percent=40, text="x", forecast_due=TODAY - timedelta(1))
    with pytest.raises(ValidationFailed, match="в прошлом"):
        await service.report(session, p.owner, roadmap.id, first.id, past, NOW, TODAY)
    await service.report(session, p.owner, roadmap.id, first.id, report, NOW, TODAY)
    await service.replan(
        session,
        p.owner,
        roadmap.id,
        first.id,
        ReplanIn(planned_start=first.planned_start, planned_due=TODAY + timedelta(5), comment="x"),
        NOW,
    )
    measure = await session.get(Measure, first.id)
    assert measure is not None
    await session.refresh(measure)
    assert measure.progress == 40
    assert measure.baseline_due == TODAY - timedelta(10)
    assert measure.planned_due == TODAY + timedelta(5)
    kinds = [e.kind for e in await repository.events(session, roadmap.id)]
    assert kinds[-2:] == ["report", "replan"]
