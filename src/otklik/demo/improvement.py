"""Demo flows of decree 923: passports, change requests in every state (several from the demo's
real insight problems and drop signals), a WG meeting with its protocol. Idempotent: nothing is
done when a change request already exists. Everything goes through the real services."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import String, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.identity.models import User
from otklik.improvement import checks, decisions, passports, repository
from otklik.improvement.models import ChangeRequest, ChangeRequestEvidence
from otklik.improvement.service import Hypothesis, create_change_request, transition
from otklik.indicators.models import Signal
from otklik.insights.models import InsightSignal
from otklik.kit.clock import MOSCOW
from otklik.registry.models import Organization

SERVICE = "health.outpatient_visit"
CURRENT = {
    "steps": ["Звонок в регистратуру", "Получение талона", "Ожидание приёма", "Приём врача"],
    "actions": 4,
    "documents": ["Паспорт", "Полис ОМС", "СНИЛС"],
    "term_days": 7,
    "channels": ["in_person"],
    "fees": 0,
}
TARGET = {
    **CURRENT,
    "steps": ["Запись на портале", "Приём врача"],
    "actions": 1,
    "documents": ["Полис ОМС"],
    "term_days": 1,
    "channels": ["portal", "in_person"],
    "goals": [
        {"metric": "documents", "op": "<=", "value": 1},
        {"metric": "term_days", "op": "<=", "value": 1},
        {"metric": "share_online", "op": ">=", "value": 0.95},
        {"metric": "satisfaction", "op": ">=", "value": 4.5},
    ],
}
# the path of a request through the workflow, and who takes each step
PATH = [
    ("submitted", "owner"),
    ("expertise", "analyst"),
    ("wg_review", "analyst"),
    ("subcommission_decision", "wg"),
    ("approved", "sc"),
    ("implementation", "owner"),
    ("control_check", "owner"),
    ("released", "analyst"),
    ("effect_assessment", "analyst"),
    ("closed", "analyst"),
]
TITLES = [
    "Запись к врачу через портал без звонка в регистратуру",
    "Приём без повторного предъявления СНИЛС",
    "Электронная очередь в поликлиниках",
    "Напоминание о приёме по SMS",
    "Единое окно для справок",
    "Онлайн-консультация после приёма",
    "Проактивное приглашение на диспансеризацию",
    "Сокращение срока ожидания приёма до 1 дня",
    "Понятная навигация в здании поликлиники",
    "Отказ от бумажной амбулаторной карты",
]


async def _users(session: AsyncSession) -> dict[str, User]:
    emails = {
        "owner": "participant16@demo.otklik.ru",
        "analyst": "analyst@demo.otklik.ru",
        "wg": "secretary@demo.otklik.ru",
        "sc": "subcommission@demo.otklik.ru",
        "portal": "mintsifry@demo.otklik.ru",
        "coordinator": "mintrud@demo.otklik.ru",
    }
    found = {u.email: u for u in await session.scalars(select(User))}
    return {k: found[e] for k, e in emails.items() if e in found}


async def _passports(session: AsyncSession, u: dict[str, User]) -> None:
    kw: dict[str, Any] = {"subject_kind": "service", "subject_code": SERVICE}
    cur = await passports.create_version(session, u["analyst"], doc="current", body=CURRENT, **kw)
    target = await passports.create_version(session, u["analyst"], doc="target", body=TARGET, **kw)
    for p in (cur, target):
        await passports.transition_passport(session, u["analyst"], p.id, "expertise")
        await passports.transition_passport(session, u["portal"], p.id, "digital_agreed")
        await passports.transition_passport(session, u["wg"], p.id, "wg_approved")
        await passports.transition_passport(session, u["sc"], p.id, "approved")
        await passports.transition_passport(session, u["analyst"], p.id, "in_force")
    # a second version of the typical target (draft) to compare, and region 16's own
    await passports.create_version(
        session, u["analyst"], doc="target", body={**TARGET, "term_days": 2}, **kw
    )
    regional = {**TARGET, "documents": ["Полис ОМС", "Направление"], "term_days": 3}
    r = await passports.create_version(
        session, u["owner"], doc="target", body=regional, region_code="16", **kw
    )
    await passports.transition_passport(session, u["owner"], r.id, "expertise")
    std = await passports.create_version(session, u["analyst"], doc="standard", body=TARGET, **kw)
    await passports.transition_passport(session, u["analyst"], std.id, "expertise")
    await passports.transition_passport(session, u["portal"], std.id, "digital_agreed")


async def _evidence(session: AsyncSession) -> list[tuple[str, str, int]]:
    """Real problems and drops of region 16 found so far, not yet linked to a request."""
    used = select(ChangeRequestEvidence.ref)
    org16 = select(Organization.id).where(Organization.region_code == "16")
    problems = await session.execute(
        select(InsightSignal.organization_id, InsightSignal.period, InsightSignal.payload)
        .where(
            InsightSignal.kind == "problem",
            InsightSignal.organization_id.in_(org16),
            func.concat(
                InsightSignal.organization_id,
                ":",
                InsightSignal.period,
                ":",
                InsightSignal.payload["topic"].astext,
            ).not_in(used),
        )
        .order_by(InsightSignal.period.desc(), InsightSignal.id)
        .limit(3)
    )
    out = [("insight_problem", f"{o}:{p}:{payload['topic']}", int(o)) for o, p, payload in problems]
    drops = await session.execute(
        select(Signal.id, Organization.id)
        .join(Organization, func.concat("organization:", Organization.ogrn) == Signal.unit)
        .where(
            Signal.kind == "indicator_drop",
            Organization.region_code == "16",
            func.cast(Signal.id, String).not_in(used),
        )
        .limit(2)
    )
    out += [("drop_signal", str(sid), int(oid)) for sid, oid in drops]
    return out


async def _walk(session: AsyncSession, u: dict[str, User], cr: ChangeRequest, target: str) -> None:
    if target == "draft":
        return
    if target in ("rejected", "returned"):
        for to, who in PATH[:3]:
            await transition(session, u[who], cr.id, to, "")
        await transition(session, u["wg"], cr.id, target, "Не хватает расчёта эффекта по срокам")
        return
    for to, who in PATH:
        if to == "released":
            items = await repository.check_items(session, cr.id)
            await checks.record(
                session, u["analyst"], cr.id, {i.id: ("pass", "проверено") for i in items}
            )
        if to == "closed":  # no measured effect in the seed: closed with the reason why
            reason = "эффект не оценён: демонстрационный запрос без данных до и после выпуска"
            await transition(session, u[who], cr.id, to, reason, "inconclusive")
        else:
            await transition(session, u[who], cr.id, to, "")
        if to == target:
            return


async def seed(session: AsyncSession, settings: Settings) -> int:
    """Returns the number of change requests created (0 when already seeded)."""
    if await session.scalar(select(func.count()).select_from(ChangeRequest)):
        return 0
    u = await _users(session)
    if len(u) < 6:
        return 0
    await _passports(session, u)
    today = datetime.now(MOSCOW).date()
    sources = await _evidence(session)
    states = [
        "draft", "submitted", "expertise", "wg_review", "wg_review", "subcommission_decision",
        "approved", "rejected", "returned", "implementation", "control_check", "released",
        "effect_assessment", "closed", "closed", "closed",
    ]  # fmt: skip
    created: list[tuple[ChangeRequest, str]] = []
    for k, state in enumerate(states):
        ev: list[tuple[str, str]] = []
        org: int | None = None
        if k < len(sources) and k > 0:  # the draft stays a plain proposal
            kind, ref, org = sources[k - 1]
            ev = [(kind, ref)]
        cr = await create_change_request(
            session,
            u["owner"],
            subject_kind="service",
            subject_code=SERVICE,
            title=TITLES[k % len(TITLES)] + ("" if k < len(TITLES) else f" (этап {k})"),
            problem="Граждане жалуются на ожидание и лишние документы при записи к врачу.",
            evidence=ev or [("proposal", "предложение Минздрава Республики Татарстан")],
            hypothesis=Hypothesis(
                "overall", "балл", Decimal("3.9"), Decimal("4.3"), _quarter_end(today, 3)
            ),
            change={"Документы": "убрать СНИЛС и паспорт", "Срок": "7 → 1 день"},
            planned_release=today + timedelta(days=30 + 10 * k),
            organization_id=org,
        )
        created.append((cr, state))
    for k, (cr, state) in enumerate(created):
        if state == "wg_review" and k == 4:
            continue  # decided at the WG meeting below
        await _walk(session, u, cr, state)
    await _meeting(session, u, created[4][0], today)
    return len(created)


async def _meeting(
    session: AsyncSession, u: dict[str, User], cr: ChangeRequest, today: date
) -> None:
    for to, who in PATH[:3]:
        await transition(session, u[who], cr.id, to, "")
    held = today - timedelta(days=3)
    m = await decisions.create_meeting(
        session, u["wg"], held, "Заседание межведомственной рабочей группы"
    )
    await decisions.add_items(session, u["wg"], m.id, [("change_request", cr.id)])
    await decisions.set_protocol(session, u["wg"], m.id, f"{held:%m}-РГ", held)
    [item] = await decisions.items(session, m.id)
    await decisions.decide(session, u["wg"], item.id, "approved", "")
    # the other WG item stays on the agenda of the next meeting, undecided
    nxt = await decisions.create_meeting(
        session, u["wg"], today + timedelta(days=14), "Очередное заседание рабочей группы"
    )
    waiting = await decisions.awaiting(session, "wg")
    if waiting:
        await decisions.add_items(
            session, u["wg"], nxt.id, [(waiting[0]["entity"], waiting[0]["id"])]
        )


def _quarter_end(today: date, quarters: int) -> date:
    month = ((today.month - 1) // 3 + quarters) * 3 + 3
    year = today.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return nxt - timedelta(days=1)


FROM_EVIDENCE = ["submitted", "expertise", "wg_review"]


async def from_evidence(session: AsyncSession, settings: Settings) -> int:
    """Worker job (demo only): once the worker has analysed the history's comments and flagged
    drops, region 16's participant opens requests from a few of those real findings."""
    if settings.env != "demo":
        return 0
    linked = await session.scalar(
        select(func.count())
        .select_from(ChangeRequestEvidence)
        .where(ChangeRequestEvidence.kind.in_(("insight_problem", "drop_signal")))
    )
    if (linked or 0) >= len(FROM_EVIDENCE) + 1:
        return 0
    u = await _users(session)
    if len(u) < 6:
        return 0
    today = datetime.now(MOSCOW).date()
    sources = (await _evidence(session))[: len(FROM_EVIDENCE) + 1 - int(linked or 0)]
    for k, (kind, ref, org) in enumerate(sources):
        cr = await create_change_request(
            session,
            u["owner"],
            subject_kind="service",
            subject_code=SERVICE,
            title=f"По сигналу граждан: {TITLES[(k + 2) % len(TITLES)].lower()}",
            problem="Найдено в ответах граждан: тема снижает общую оценку организации.",
            evidence=[(kind, ref)],
            hypothesis=Hypothesis(
                "overall", "балл", Decimal("3.8"), Decimal("4.2"), _quarter_end(today, 2)
            ),
            planned_release=today + timedelta(days=60),
            organization_id=org,
        )
        target = FROM_EVIDENCE[k % len(FROM_EVIDENCE)]
        for to, who in PATH:
            await transition(session, u[who], cr.id, to, "")
            if to == target:
                break
    return 0  # nothing to repeat at once: the next run is a minute later
