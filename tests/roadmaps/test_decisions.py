"""Roadmaps on the agendas of the WG and the subcommission: the recorded decision moves the
roadmap through its approval workflow, as for change requests and passports."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import DomainError
from otklik.identity.models import User
from otklik.improvement import decisions
from otklik.roadmaps.models import Measure, Roadmap, RoadmapEvent

from .factories import People, draft


async def _meeting_with(session: AsyncSession, secretary: User, roadmap_id: int, held: date) -> int:
    m = await decisions.create_meeting(session, secretary, held, "Заседание")
    body = decisions.body_of(secretary)
    waiting = await decisions.awaiting(session, body)
    assert ("roadmap", roadmap_id) in {(a["entity"], a["id"]) for a in waiting}
    await decisions.add_items(session, secretary, m.id, [("roadmap", roadmap_id)])
    # on an undecided agenda, it no longer waits
    again = await decisions.awaiting(session, body)
    assert ("roadmap", roadmap_id) not in {(a["entity"], a["id"]) for a in again}
    [item] = await decisions.items(session, m.id)
    assert item.title.startswith(f"Дорожная карта № {roadmap_id}:")
    return item.id


async def _state(session: AsyncSession, roadmap_id: int) -> str:
    return str(await session.scalar(select(Roadmap.state).where(Roadmap.id == roadmap_id)))


async def test_wg_and_subcommission_decide_a_roadmap_on_their_agendas(
    session: AsyncSession,
) -> None:
    p = await People(session).make()
    roadmap = await draft(session, p.owner)
    held = date(2026, 12, 1)

    # the WG returns it: it stays a draft, the decision and its reason on the timeline
    item = await _meeting_with(session, p.wg, roadmap.id, held)
    with pytest.raises(DomainError, match="протокола"):  # no protocol yet
        await decisions.decide(session, p.wg, item, "returned", "нет сроков")
    m_id = await _meeting_id(session, item)
    await decisions.set_protocol(session, p.wg, m_id, "12-РГ", held)
    with pytest.raises(DomainError, match="причину"):
        await decisions.decide(session, p.wg, item, "returned", "")
    await decisions.decide(session, p.wg, item, "returned", "Уточнить сроки")
    assert await _state(session, roadmap.id) == "draft"
    comments = list(
        await session.scalars(
            select(RoadmapEvent.comment).where(
                RoadmapEvent.roadmap_id == roadmap.id, RoadmapEvent.kind == "decision"
            )
        )
    )
    assert comments == ["Протокол № 12-РГ от 01.12.2026. Уточнить сроки"]
    with pytest.raises(DomainError, match="уже записано"):
        await decisions.decide(session, p.wg, item, "approved", "")

    # next meeting: the WG approves
    item = await _meeting_with(session, p.wg, roadmap.id, date(2026, 12, 8))
    m_id = await _meeting_id(session, item)
    await decisions.set_protocol(session, p.wg, m_id, "13-РГ", date(2026, 12, 8))
    await decisions.decide(session, p.wg, item, "approved", "")
    assert await _state(session, roadmap.id) == "wg_approved"

    # the subcommission returns it to the draft, then (after the WG again) approves it
    item = await _meeting_with(session, p.sub, roadmap.id, date(2026, 12, 10))
    m_id = await _meeting_id(session, item)
    await decisions.set_protocol(session, p.sub, m_id, "5-П", date(2026, 12, 10))
    await decisions.decide(session, p.sub, item, "rejected", "Не та услуга")
    assert await _state(session, roadmap.id) == "draft"

    item = await _meeting_with(session, p.wg, roadmap.id, date(2026, 12, 15))
    await decisions.set_protocol(session, p.wg, await _meeting_id(session, item), "14-РГ",
                                 date(2026, 12, 15))  # fmt: skip
    await decisions.decide(session, p.wg, item, "approved", "")
    item = await _meeting_with(session, p.sub, roadmap.id, date(2026, 12, 17))
    await decisions.set_protocol(session, p.sub, await _meeting_id(session, item), "6-П",
                                 date(2026, 12, 17))  # fmt: skip
    await decisions.decide(session, p.sub, item, "approved", "")
    assert await _state(session, roadmap.id) == "subcommission_approved"
    # approval by the subcommission takes the baseline, as on the roadmap's own page
    baselines = list(
        await session.scalars(select(Measure.baseline_due).where(Measure.roadmap_id == roadmap.id))
    )
    assert baselines
    assert all(b is not None for b in baselines)
    # an approved roadmap waits for no body
    for body in ("wg", "subcommission"):
        waiting = await decisions.awaiting(session, body)
        assert ("roadmap", roadmap.id) not in {(a["entity"], a["id"]) for a in waiting}


async def test_a_roadmap_not_awaiting_the_body_cannot_be_put_on_its_agenda(
    session: AsyncSession,
) -> None:
    p = await People(session).make()
    roadmap = await draft(session, p.owner)
    m = await decisions.create_meeting(session, p.sub, date(2026, 12, 1), "Заседание")
    with pytest.raises(DomainError, match="уже не ждёт решения"):
        await decisions.add_items(session, p.sub, m.id, [("roadmap", roadmap.id)])
    assert await decisions.items(session, m.id) == []


async def _meeting_id(session: AsyncSession, item_id: int) -> int:
    from otklik.improvement.models import MeetingItem

    found = await session.scalar(select(MeetingItem.meeting_id).where(MeetingItem.id == item_id))
    assert found is not None
    return int(found)
