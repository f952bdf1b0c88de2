"""Roadmap test data through the real service."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.roadmaps import service
from otklik.roadmaps.models import Roadmap
from otklik.roadmaps.schemas import RoadmapIn
from tests.factories import create_user

TODAY = date(2026, 12, 31)  # a year end, on purpose
NOW = datetime(2026, 12, 31, 22, 30, tzinfo=UTC)  # 01:30 on 1 January in Moscow
SERVICE = "health.outpatient_visit"


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


def payload(owner: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Запись к врачу за один шаг",
        "subject": {"kind": "service", "code": SERVICE},
        "report_every_days": 14,
        "measures": [
            {
                "key": "a",
                "title": "Единое расписание",
                "owner": owner,
                "planned_start": day(-60),
                "planned_due": day(-10),
            },
            {
                "key": "b",
                "title": "Запись через портал",
                "owner": owner,
                "planned_start": day(-30),
                "planned_due": day(30),
                "depends_on": ["a"],
            },
            {
                "key": "c",
                "title": "Напоминания пациентам",
                "owner": owner,
                "planned_start": day(-20),
                "planned_due": day(60),
                "depends_on": ["b"],
                "weight": 2,
            },
        ],
    }
    data.update(changes)
    return data


class People:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def make(self) -> People:
        self.owner = await create_user(self.session, Role.participant, "region:16")
        self.analyst = await create_user(self.session, Role.analyst, "country")
        self.wg = await create_user(self.session, Role.wg_secretary, "country")
        self.sub = await create_user(self.session, Role.subcommission_secretary, "country")
        return self


async def draft(session: AsyncSession, owner: User, **changes: Any) -> Roadmap:
    data = RoadmapIn.model_validate(payload(owner.email, **changes))
    return await service.create(session, owner, data, NOW - timedelta(days=90))


async def active(session: AsyncSession, p: People, **changes: Any) -> Roadmap:
    roadmap = await draft(session, p.owner, **changes)
    at = NOW - timedelta(days=80)
    await service.transition(session, p.wg, roadmap.id, "wg_approved", "", at)
    await service.transition(session, p.sub, roadmap.id, "subcommission_approved", "", at)
    return await service.transition(session, p.owner, roadmap.id, "active", "", at)
