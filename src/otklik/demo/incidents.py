"""Demo of incidents, lab studies and effects (decree 923), seeded after the change requests.

Incidents are opened by the real job from the demo's own signals: the weekly EWMA drops of
the answer history, and a demo information system that last reported four days ago. Effects
are computed by the real estimator on the answer history. Lab studies are typed in as a lab
would (sessions and findings), with a re-test of each.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.demo.history import drift
from otklik.effects import service as effects
from otklik.effects.models import EffectAssessment
from otklik.effects.practices import adopt
from otklik.identity.audit import Actor
from otklik.identity.models import User
from otklik.incidents import service as incidents
from otklik.incidents.models import Incident
from otklik.indicators.tasks import flag_drops
from otklik.intake import repository as intake_repository
from otklik.intake.models import IntakeBatch
from otklik.intake.service import create_source
from otklik.kit.clock import MOSCOW, now_utc
from otklik.kit.scope import Scope
from otklik.labs import service as labs
from otklik.labs.links import link_finding
from otklik.labs.service import SessionIn, TaskResult

SYSTEM = Actor.system("demo")
SILENT = "mis-demo-silent"
SERVICE = "health.outpatient_visit"


async def _users(session: AsyncSession) -> dict[str, User]:
    found = {u.email: u for u in await session.scalars(select(User))}
    names = {"sc": "subcommission", "coord": "mintrud", "lab": "lab", "owner": "participant16"}
    return {
        k: found[f"{v}@demo.otklik.ru"] for k, v in names.items() if f"{v}@demo.otklik.ru" in found
    }


async def _incidents(session: AsyncSession, settings: Settings, u: dict[str, User]) -> int:
    source, _ = await create_source(session, SYSTEM, SILENT)
    now = now_utc()
    await intake_repository.add_batch(
        session,
        IntakeBatch(source_id=source.id, channel="api", received_at=now - timedelta(days=4),
                    records=120, accepted=120, duplicates=0, rejected=0),
    )  # fmt: skip
    await flag_drops(session, settings)
    while (await incidents.detect(session, now))["signals"]:
        pass
    scope = Scope.country()
    silent = (
        await session.scalars(select(Incident).where(Incident.cause_key.like("source:%")))
    ).first()
    if silent is not None and "coord" in u and "sc" in u:
        coord = Actor(u["coord"].id, u["coord"].email)
        await incidents.transition(session, scope, coord, now, silent.id, "acknowledge")
        await incidents.transition(
            session, scope, coord, now, silent.id, "escalate",
            "Источник не передаёт сведения: нужен поручение оператору МИС региона.",
        )  # fmt: skip
        sc = u["sc"]
        await incidents.decide(
            session, Actor(sc.id, sc.email), now, silent.id,
            meeting_date=now.astimezone(MOSCOW).date(), protocol="ПК-3",
            decision="Поручить оператору МИС восстановить передачу сведений в течение суток.",
        )  # fmt: skip
    return int(await session.scalar(select(func.count()).select_from(Incident)) or 0)


def _session(rng: random.Random, code: str, tasks: int, ease: float) -> SessionIn:
    sus = [
        max(1, min(5, round(rng.gauss(3 + ease if i % 2 == 0 else 3 - ease, 0.7))))
        for i in range(10)
    ]
    results = [
        TaskResult(
            success=rng.random() < 0.45 + 0.25 * ease,
            seconds=max(5, int(rng.gauss(180 - 50 * ease, 40))),
            errors=max(0, int(rng.gauss(2 - ease, 1))),
            seq=max(1, min(7, round(rng.gauss(4 + ease, 1)))),
        )
        for _ in range(tasks)
    ]
    bands = ("18-29", "30-44", "45-59", "60-74", "75+")
    return SessionIn(code, rng.choice(bands), rng.random() < 0.2,
                     rng.choice(("low", "medium", "high")), sus, results)  # fmt: skip


async def _labs(session: AsyncSession, u: dict[str, User]) -> int:
    if "lab" not in u:
        return 0
    lab = u["lab"]
    actor = Actor(lab.id, lab.email)
    rng = random.Random(923)
    studies = [
        ("Запись к врачу на портале", f"service:{SERVICE}", "16",
         ["Найти свободное время к терапевту", "Записаться", "Отменить запись"]),
        ("Зачисление в детский сад", "service:edu.preschool_enrollment", None,
         ["Подать заявление", "Узнать место в очереди"]),
    ]  # fmt: skip
    for title, subject, region, tasks in studies:
        before = await labs.create_study(
            session, actor, title=title, subject=subject, tasks=tasks, region_code=region
        )
        await labs.add_sessions(
            session, Scope.country(), actor, before.id,
            [_session(rng, f"P{k:02d}", len(tasks), 0.0) for k in range(1, 13)],
        )  # fmt: skip
        finding = await labs.add_finding(
            session, Scope.country(), actor, before.id, task_position=1, severity=2,
            title="Кнопка выбора времени не видна на телефоне",
            description="8 из 12 участников прокручивали страницу, не находя кнопку.",
        )  # fmt: skip
        if region == "16":
            await link_finding(session, lab, finding.id, service_code=SERVICE)
        after = await labs.create_study(
            session, actor, title=f"{title}: повторный тест после выпуска", subject=subject,
            tasks=[], region_code=region, retest_of=before.id,
        )  # fmt: skip
        await labs.add_sessions(
            session, Scope.country(), actor, after.id,
            [_session(rng, f"R{k:02d}", len(tasks), 0.8) for k in range(1, 11)],
        )  # fmt: skip
    return 4


async def _effects(session: AsyncSession, today: date, u: dict[str, User]) -> list[str]:
    """Three changes released in the history's past, measured by the real estimator."""
    rows = (
        await session.execute(
            text(
                "SELECT r.organization_id, count(*) AS n FROM responses r"
                " JOIN organizations o ON o.id = r.organization_id"
                " WHERE o.type_code = 'med_outpatient' GROUP BY 1 HAVING count(*) >= 60"
            )
        )
    ).all()
    orgs = sorted((int(r.organization_id) for r in rows), key=drift)
    if len(orgs) < 20:
        return []
    release = (today.replace(day=1) - timedelta(days=130)).replace(day=1)
    k = max(5, len(orgs) // 6)
    clinic = await session.scalar(  # the pilot runs in the demo organization user's clinic
        select(User.scope_organization_id).where(User.email == "clinic@demo.otklik.ru")
    )
    pilot = [clinic] if clinic in orgs else orgs[len(orgs) // 2 : len(orgs) // 2 + 1]
    plans: list[tuple[str, list[int], int]] = [
        ("Онлайн-запись без звонка в регистратуру", orgs[-k:], 1),
        ("Единое окно выдачи справок", orgs[:k], 1),
        ("Пилот: электронная очередь в одной поликлинике", pilot, 1),
    ]  # fmt: skip
    verdicts = []
    for title, units, direction in plans:
        a: EffectAssessment = await effects.create(
            session, SYSTEM, title=title, indicator="overall", direction=direction,
            released_on=release, organization_ids=units, window_days=56,
        )  # fmt: skip
        await effects.compute(session, a, today, now_utc())
        verdicts.append(a.verdict)
        if a.verdict == "confirmed" and "coord" in u:  # a practice two other regions adopt
            for region in ("77", "50"):
                if region != a.region_code:
                    await adopt(session, u["coord"], a.id, SERVICE, region)
    return verdicts


async def seed(session: AsyncSession, settings: Settings) -> dict[str, Any]:
    """Once: incidents from signals, two lab studies with re-tests, three measured effects."""
    if await session.scalar(select(func.count()).select_from(EffectAssessment)):
        return {}
    u = await _users(session)
    today = datetime.now(MOSCOW).date()
    return {
        "incidents": await _incidents(session, settings, u),
        "studies": await _labs(session, u),
        "effects": await _effects(session, today, u),
    }
