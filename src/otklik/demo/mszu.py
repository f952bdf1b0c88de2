"""Demo data of issue 14: the МСЗУ list in two versions, two years of application statistics
posted through the statistics intake, priority criteria and information measures.

Runs after ``seed_demo`` (it needs the demo users and organizations); idempotent.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.demo.seed import REGIONS
from otklik.identity import repository as identity_repository
from otklik.identity.audit import Actor
from otklik.identity.roles import Role
from otklik.intake import repository as intake_repository
from otklik.intake.service import create_source
from otklik.mszu import repository as mszu_repository
from otklik.mszu import service as mszu
from otklik.mszu.statistics import ingest_statistics, today_moscow
from otklik.priorities import measures
from otklik.priorities import repository as priorities_repository
from otklik.priorities import service as priorities
from otklik.registry.reference import regional_founder_code

SEED = 20261206
SOURCE = "demo-mszu-stats"
ANALYST = Actor(None, "analyst@demo.otklik.ru")
MINTSIFRY = Actor(None, "mintsifry@demo.otklik.ru")
SUBCOMMISSION = Actor(None, "subcommission@demo.otklik.ru")
# version 2 of the list: what the Analytical Center changed after a year
SECOND_VERSION = {
    "health.vaccination": "proactive",
    "health.checkup": "proactive",
    "edu.supplementary_enrollment": "electronic",
    "sport.gto_testing": "electronic",
}
DROPPED = ("health.medical_certificate",)


async def _list_versions(session: AsyncSession) -> None:
    if await mszu_repository.versions(session):
        return
    first = await mszu.create_draft(session, ANALYST, Role.analyst, None, "Исходный перечень")
    await mszu.agree(session, MINTSIFRY, Role.portal_operator, first.number)
    await mszu.approve(
        session,
        SUBCOMMISSION,
        Role.subcommission_secretary,
        first.number,
        "3-ПК",
        date(2025, 3, 14),
    )
    items = await mszu_repository.items(session, first.number)
    items.update(SECOND_VERSION)
    for code in DROPPED:
        items.pop(code, None)
    second = await mszu.create_draft(
        session, ANALYST, Role.analyst, items, "Пересмотр по итогам 2025 года"
    )
    await mszu.agree(session, MINTSIFRY, Role.portal_operator, second.number)
    await mszu.approve(
        session,
        SUBCOMMISSION,
        Role.subcommission_secretary,
        second.number,
        "11-ПК",
        date(2026, 2, 20),
    )


def _months(today: date, count: int) -> list[date]:
    first = today.replace(day=1)
    out = []
    for _ in range(count):
        first = (first - timedelta(days=1)).replace(day=1)
        out.append(first)
    return sorted(out)


def statistics_rows(
    codes: list[str],
    today: date,
    seed: int = SEED,
    founders: dict[tuple[str, str], str] | None = None,
) -> list[dict[str, object]]:
    """Two years of applications: regions differ, the electronic share rises month by month.
    Where ``founders`` names the founder of a (service, region), every row of it states it (the
    region's information system knows it); elsewhere rows state none."""
    founders = founders or {}
    rng = random.Random(seed)
    regions = sorted(REGIONS)
    start_share = {r: rng.uniform(0.35, 0.7) for r in regions}
    proactive_part = {c: rng.uniform(0.0, 0.5) for c in codes}
    volume = {c: rng.randint(200, 6000) for c in codes}
    size = {r: rng.uniform(0.5, 3.0) for r in regions}
    rows: list[dict[str, object]] = []
    for i, month in enumerate(_months(today, 24)):
        for r in regions:
            for c in codes:
                total = int(volume[c] * size[r] * rng.uniform(0.85, 1.15))
                share = min(0.98, start_share[r] + 0.012 * i + rng.uniform(-0.03, 0.03))
                electronic = int(total * share)
                proactive = int(electronic * proactive_part[c] * (0.5 + i / 48))
                in_person = int((total - electronic) * 0.85)
                founder = founders.get((c, r))
                for channel, n in (
                    ("portal", electronic - proactive),
                    ("proactive", proactive),
                    ("in_person", in_person),
                    ("other", total - electronic - in_person),
                ):
                    row: dict[str, object] = {
                        "service_code": c,
                        "region_code": r,
                        "month": f"{month:%Y-%m}",
                        "channel": channel,
                        "applications": n,
                    }
                    if founder:
                        row["founder_code"] = founder
                    rows.append(row)
    return rows


# sector → the regional body that founds its organizations (other sectors: a federal founder)
REGIONAL_BODY = {
    "healthcare": "health",
    "education": "education",
    "sport": "sport",
    "social": "social",
}
FEDERAL = {"culture": "minkultury"}


async def _founders(session: AsyncSession, codes: list[str]) -> dict[tuple[str, str], str]:
    """Every other demo region's information system states the founder; the rest do not."""
    sectors = {s.code: s.sector for s in await mszu_repository.services(session)}
    out: dict[tuple[str, str], str] = {}
    for region in sorted(REGIONS)[::2]:
        for code in codes:
            sector = sectors.get(code, "")
            if sector in REGIONAL_BODY:
                out[(code, region)] = regional_founder_code(region, REGIONAL_BODY[sector])
            elif sector in FEDERAL:
                out[(code, region)] = FEDERAL[sector]
    return out


async def _statistics(session: AsyncSession) -> None:
    source = await intake_repository.get_source_by_name(session, SOURCE)
    if source is not None:
        return
    source, _ = await create_source(session, Actor.system("demo"), SOURCE)
    approved = await mszu_repository.current_approved(session)
    assert approved is not None  # noqa: S101 - seeded just before
    codes = sorted(await mszu_repository.items(session, approved.number))
    rows = statistics_rows(codes, today_moscow(), founders=await _founders(session, codes))
    for at in range(0, len(rows), 10_000):
        await ingest_statistics(session, source.id, rows[at : at + 10_000], first_index=at)


async def _criteria_and_measures(session: AsyncSession) -> None:
    if not await priorities_repository.versions(session):
        await priorities.save_version(
            session, ANALYST, dict(priorities.DEFAULT_WEIGHTS), "Исходные веса"
        )
        second = dict(priorities.DEFAULT_WEIGHTS)
        second.update(not_electronic=0.25, volume=0.1)
        await priorities.save_version(
            session, ANALYST, second, "Больше вес доли заявлений не в электронном виде"
        )
    if await priorities_repository.measures(session, None):
        return
    coordinator = await identity_repository.get_user_by_email(session, "mintrud@demo.otklik.ru")
    if coordinator is None:
        return
    today = today_moscow()
    for region, title, channels, ago, days, types, founder in (
        (
            "16",
            "Плакаты с QR-кодом анкеты в поликлиниках",
            ["posters", "staff"],
            75,
            21,
            ["med_outpatient"],
            "",
        ),
        ("16", "Баннер на региональном портале", ["portal"], 30, 14, [], ""),
        ("66", "Рассылка SMS родителям школьников", ["sms"], 60, 7, [], "r66-education"),
        ("54", "Сюжеты на региональном телевидении", ["media"], 45, 10, [], ""),
    ):
        start = today - timedelta(days=ago)
        await measures.create(
            session,
            coordinator,
            region,
            title,
            channels,
            start,
            start + timedelta(days=days),
            type_codes=types,
            founder_code=founder,
        )


async def seed_mszu_demo(session: AsyncSession) -> None:
    """The МСЗУ list, statistics, criteria and measures of the demo (idempotent)."""
    await _list_versions(session)
    await _statistics(session)
    await _criteria_and_measures(session)
