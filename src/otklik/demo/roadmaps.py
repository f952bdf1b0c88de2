"""Demo roadmaps of decree 923: one on time, one slipping (late measures, a late dependency,
an owner who slipped before, one overdue progress report, a re-planned measure). Dates are
relative to today; everything goes through the real services; idempotent."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.models import User
from otklik.improvement.models import ChangeRequest
from otklik.indicators.repository import MOSCOW
from otklik.roadmaps import risk, service
from otklik.roadmaps.models import Measure, Roadmap
from otklik.roadmaps.schemas import ReplanIn, ReportIn, RoadmapIn

OWNER = "participant16@demo.otklik.ru"
WG = "secretary@demo.otklik.ru"
SUB = "subcommission@demo.otklik.ru"


def _at(day: date) -> datetime:
    """Noon in Moscow on ``day``, in UTC."""
    return datetime.combine(day, time(12), MOSCOW).astimezone(UTC)


async def _users(session: AsyncSession) -> dict[str, User]:
    rows = await session.scalars(select(User).where(User.email.in_([OWNER, WG, SUB])))
    return {u.email: u for u in rows}


async def _roadmap(
    session: AsyncSession,
    u: dict[str, User],
    today: date,
    data: dict[str, Any],
    started: int,
) -> tuple[Roadmap, list[Measure]]:
    """Create, approve by the WG and the subcommission, start ``started`` days ago."""
    owner = u[OWNER]
    roadmap = await service.create(
        session, owner, RoadmapIn.model_validate(data), _at(today - timedelta(started + 12))
    )
    steps = [
        (u[WG], "wg_approved", "Протокол заседания рабочей группы № 7", started + 7),
        (u[SUB], "subcommission_approved", "Протокол заседания подкомиссии № 3", started + 2),
        (owner, "active", "", started),
    ]
    for user, target, comment, ago in steps:
        await service.transition(
            session, user, roadmap.id, target, comment, _at(today - timedelta(ago))
        )
    rows = await session.scalars(
        select(Measure).where(Measure.roadmap_id == roadmap.id).order_by(Measure.position)
    )
    return roadmap, list(rows)


async def _report(
    session: AsyncSession,
    owner: User,
    m: Measure,
    day: date,
    percent: int,
    text: str,
    forecast: date,
    problems: str = "",
) -> None:
    body = ReportIn(percent=percent, text=text, problems=problems, forecast_due=forecast)
    await service.report(session, owner, m.roadmap_id, m.id, body, _at(day), day)


def _m(
    key: str, title: str, start: date, due: date, deps: list[str], **extra: Any
) -> dict[str, Any]:
    return {
        "key": key,
        "title": title,
        "owner": OWNER,
        "planned_start": start.isoformat(),
        "planned_due": due.isoformat(),
        "depends_on": deps,
        **extra,
    }


async def seed(session: AsyncSession) -> int:
    """Two roadmaps with measures and reports; returns the number created (0 if seeded)."""
    if await session.scalar(select(func.count()).select_from(Roadmap)):
        return 0
    u = await _users(session)
    if len(u) < 3:
        return 0
    t = datetime.now(MOSCOW).date()

    def d(n: int) -> date:
        return t + timedelta(days=n)

    owner = u[OWNER]
    crs = list(
        await session.scalars(
            select(ChangeRequest.id)
            .where(ChangeRequest.region_code == "16")
            .where(ChangeRequest.state.in_(("approved", "implementation", "control_check")))
            .order_by(ChangeRequest.id)
            .limit(2)
        )
    )
    on_time, ms = await _roadmap(
        session,
        u,
        t,
        {
            "title": "Запись к врачу без звонка в регистратуру (Республика Татарстан)",
            "subject": {"kind": "service", "code": "health.appointment_online"},
            "report_every_days": 14,
            "measures": [
                _m("a", "Единое расписание врачей в региональной МИС", d(-88), d(-40), []),
                _m(
                    "b",
                    "Запись на приём через портал Госуслуг",
                    d(-40),
                    d(30),
                    ["a"],
                    change_requests=crs[:1],
                ),
                _m("c", "Напоминания о приёме и перенос записи онлайн", d(-10), d(60), ["b"]),
            ],
        },
        started=88,
    )
    a, b, c = ms
    await _report(session, owner, a, d(-42), 100, "Расписание всех поликлиник в МИС", d(-42))
    await _report(session, owner, b, d(-17), 35, "Подключены 12 поликлиник из 40", d(30))
    await _report(session, owner, b, d(-3), 60, "Подключены 25 поликлиник из 40", d(30))
    await _report(session, owner, c, d(-3), 15, "Тексты напоминаний согласованы", d(60))

    slipping, ms = await _roadmap(
        session,
        u,
        t,
        {
            "title": "Рождение ребёнка: выплаты и регистрация без визитов (Республика Татарстан)",
            "subject": {"kind": "life_situation", "code": "birth_of_child"},
            "report_every_days": 14,
            "measures": [
                _m("s1", "Обследование процесса и карта шагов заявителя", d(-118), d(-90), []),
                _m("s2", "Перечень сведений, получаемых по СМЭВ", d(-90), d(-60), ["s1"]),
                _m(
                    "s3",
                    "Доработка региональной информационной системы",
                    d(-60),
                    d(10),
                    ["s2"],
                    change_requests=crs[1:2],
                ),
                _m("s4", "Проактивное уведомление семей", d(10), d(40), ["s3"], weight=2),
                _m("s5", "Запуск услуги в электронном виде", d(40), d(60), ["s4"], weight=3),
            ],
        },
        started=118,
    )
    s1, s2, s3, _, s5 = ms
    await _report(session, owner, s1, d(-80), 100, "Карта шагов утверждена", d(-80))
    await _report(session, owner, s2, d(-46), 100, "Перечень согласован с ведомствами", d(-46))
    await _report(
        session,
        owner,
        s3,
        d(-20),
        25,
        "Техническое задание согласовано",
        d(40),
        problems="Подрядчик не приступил к работам: контракт заключён с опозданием",
    )
    await service.replan(
        session,
        owner,
        slipping.id,
        s5.id,
        ReplanIn(planned_start=d(45), planned_due=d(75), comment="Перенос из-за доработки ИС"),
        _at(d(-19)),
    )
    now = datetime.now(UTC)
    await risk.recompute(session, now, t)
    return 2 if on_time.id and slipping.id else 0
