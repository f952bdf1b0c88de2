"""Demo roadmaps: one on time, one slipping with a high risk and reasons, one overdue report."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.demo import roadmaps as demo
from otklik.identity.roles import Role
from otklik.roadmaps import detail
from otklik.roadmaps.models import Roadmap
from tests.factories import create_user


async def test_demo_roadmaps(session: AsyncSession) -> None:
    owner = await create_user(session, Role.participant, "region:16", demo.OWNER)
    await create_user(session, Role.wg_secretary, "country", demo.WG)
    await create_user(session, Role.subcommission_secretary, "country", demo.SUB)
    assert await demo.seed(session) == 2
    assert await demo.seed(session) == 0
    ids = list(await session.scalars(select(Roadmap.id).order_by(Roadmap.id)))
    now = datetime.now(UTC)
    on_time, slipping = [await detail.build(session, owner, i, now) for i in ids]
    assert on_time.risk is not None
    assert on_time.risk < 0.2
    assert slipping.risk is not None
    assert slipping.risk > 0.9
    assert len(slipping.critical_path) == 5
    reasons = next(m for m in slipping.measures if m.title.startswith("Доработка")).risk_reasons
    assert "последние 3 мероприятия владельца сдвинулись в среднем на 8 дней" in reasons
    assert any(r.startswith("отчёт о ходе выполнения просрочен") for r in reasons)
    overdue = [m.title for r in (on_time, slipping) for m in r.measures if m.report_overdue]
    assert overdue == ["Доработка региональной информационной системы"]
    replanned = slipping.measures[-1]
    assert replanned.baseline_due is not None
    assert (replanned.planned_due - replanned.baseline_due).days == 15
