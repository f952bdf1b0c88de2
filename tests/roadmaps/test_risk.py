"""Deadline risk: the set-based recomputation, its reasons in words, the critical path, alerts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.improvement.models import Notification
from otklik.roadmaps import repository, risk, service
from otklik.roadmaps.models import Measure, RiskAlert, Roadmap
from otklik.roadmaps.schemas import ReportIn

from .factories import NOW, TODAY, People, active


async def _measures(session: AsyncSession, roadmap_id: int) -> list[Measure]:
    rows = await repository.measures(session, roadmap_id, NOW)
    for r in rows:
        await session.refresh(r.Measure)
    return [r.Measure for r in rows]


async def _history(session: AsyncSession, p: People, slips: list[int]) -> None:
    """Finished measures of the owner, each ``slip`` days after its baseline due date."""
    old = await active(session, p, title="Прошлая карта")
    for m, slip in zip(await _measures(session, old.id), slips, strict=False):
        m.progress = 100
        m.completed_on = m.baseline_due + timedelta(days=slip) if m.baseline_due else None
    await session.flush()


async def test_slipping_roadmap_gets_a_high_risk_with_reasons(session: AsyncSession) -> None:
    p = await People(session).make()
    await _history(session, p, [10, 14, 12])
    roadmap = await active(session, p)
    first, second, third = await _measures(session, roadmap.id)
    # the first measure is late (due 10 days ago, 70 %), the second reports a later forecast
    late = ReportIn(percent=70, text="Идёт", forecast_due=TODAY + timedelta(days=20))
    await service.report(session, p.owner, roadmap.id, first.id, late, NOW, TODAY)
    slow = ReportIn(percent=10, text="Ждём", forecast_due=TODAY + timedelta(days=45))
    await service.report(session, p.owner, roadmap.id, second.id, slow, NOW, TODAY)

    measures, alerts = await risk.recompute(session, NOW, TODAY)
    assert measures >= 3
    first, second, third = await _measures(session, roadmap.id)
    assert first.risk is not None
    assert first.risk > 0.95
    assert second.risk is not None
    assert second.risk > 0.9
    reasons = risk.reasons(second.risk_factors)
    assert "1 из 1 зависимости опаздывает" in reasons
    assert any(r.startswith("прогноз завершения — 14.02.2027, на 15 дней позже") for r in reasons)
    assert "последние 3 мероприятия владельца сдвинулись в среднем на 12 дней" in reasons
    assert any(r.startswith("выполнено 10\u00a0% при плановых 50\u00a0%") for r in reasons)
    # the third has no report in 14 days since activation: its report is late
    assert any("отчёт о ходе выполнения просрочен" in r for r in risk.reasons(third.risk_factors))

    await session.refresh(roadmap)
    assert roadmap.risk_factors is not None
    assert roadmap.risk_factors["critical_path"] == [first.id, second.id, third.id]
    assert roadmap.risk == max(m.risk or 0 for m in (first, second, third))
    # owner and analyst are told once per rise, not on every run
    users = set(
        await session.scalars(select(RiskAlert.user_id).where(RiskAlert.roadmap_id == roadmap.id))
    )
    assert {p.owner.id, p.analyst.id} <= users
    mails = set(
        await session.scalars(
            select(Notification.user_id).where(Notification.link == f"/roadmaps/{roadmap.id}")
        )
    )
    assert {p.owner.id, p.analyst.id} <= mails
    assert alerts >= 2 * 3
    _, again = await risk.recompute(session, NOW, TODAY)
    assert again == 0


async def test_a_roadmap_on_time_has_a_low_risk(session: AsyncSession) -> None:
    p = await People(session).make()
    roadmap = await active(session, p)
    first, second, third = await _measures(session, roadmap.id)
    done = ReportIn(percent=100, text="Готово", forecast_due=TODAY)
    # on time: the first finished by its due date, the others on plan
    first.planned_due = first.baseline_due = TODAY
    await service.report(session, p.owner, roadmap.id, first.id, done, NOW, TODAY)
    for m, pct in ((second, 60), (third, 30)):
        on_plan = ReportIn(percent=pct, text="По плану", forecast_due=m.planned_due)
        await service.report(session, p.owner, roadmap.id, m.id, on_plan, NOW, TODAY)
    await risk.recompute(session, NOW, TODAY)
    first, second, third = await _measures(session, roadmap.id)
    assert first.risk == 0.0
    assert second.risk is not None
    assert second.risk < 0.2
    assert risk.reasons(second.risk_factors) == []
    row = await session.get(Roadmap, roadmap.id)
    assert row is not None
    await session.refresh(row)
    assert row.risk is not None
    assert row.risk < 0.2


def test_reason_words_agree_with_numbers() -> None:
    factors = {
        "planned": 50,
        "progress": 50,
        "deps": 3,
        "deps_late": 2,
        "owner_n": 5,
        "owner_slip": 12,
        "forecast_slip": 0,
        "forecast_due": "2027-01-01",
        "days_left": 3,
        "report_late": False,
        "last_report": None,
        "completed_on": None,
    }
    assert risk.reasons(factors) == [
        "2 из 3 зависимостей опаздывают",
        "последние 5 мероприятий владельца сдвинулись в среднем на 12 дней",
    ]
    factors.update(owner_n=1, owner_slip=1, days_left=-21, deps_late=0)
    assert risk.reasons(factors) == [
        "срок истёк 21 день назад, выполнено 50\u00a0%",
        "последнее мероприятие владельца сдвинулось на 1 день",
    ]
