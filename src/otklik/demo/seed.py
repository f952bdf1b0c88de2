"""A deterministic synthetic country for the demo: organizations of every type, users per role.

Everything goes through the real import path and the real services, so the demo exercises the
same code as production.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.audit import Actor, record_import
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.identity.service import create_user
from otklik.registry.models import Organization
from otklik.registry.reference import regional_founder_code, seed_reference
from otklik.registry.service import import_file, seed_catalogue
from otklik.registry.validators import inn_with_checksum, ogrn_with_checksum

SEED = 20261122
ORGANIZATION_COLUMNS = (
    "ogrn",
    "inn",
    "full_name",
    "short_name",
    "type",
    "region",
    "founder",
    "address",
    "participates_from",
    "participates_to",
)  # the header of the organizations import file
DEMO_PASSWORD = "otklik-demo-2026"  # noqa: S105 - printed at start; demo only
ACTOR = Actor.system("demo")

# (region code, cities) — twelve regions across all federal districts
REGIONS: dict[str, tuple[str, ...]] = {
    "77": ("Москва",),
    "78": ("Санкт-Петербург",),
    "50": ("Подольск", "Химки", "Балашиха"),
    "16": ("Казань", "Набережные Челны"),
    "66": ("Екатеринбург", "Нижний Тагил"),
    "54": ("Новосибирск", "Бердск"),
    "23": ("Краснодар", "Сочи"),
    "52": ("Нижний Новгород",),
    "63": ("Самара", "Тольятти"),
    "25": ("Владивосток", "Уссурийск"),
    "02": ("Уфа",),
    "38": ("Иркутск", "Братск"),
}
STREETS = (
    "Ленина",
    "Мира",
    "Гагарина",
    "Советская",
    "Садовая",
    "Школьная",
    "Победы",
    "Лесная",
    "Молодёжная",
    "Центральная",
    "Набережная",
    "Пушкина",
)

# type code → (share of organizations, regional body, federal founder or None, name patterns)
TYPES: dict[str, tuple[int, str, str | None, tuple[str, str]]] = {
    "med_outpatient": (
        14,
        "health",
        "minzdrav",
        (
            "ГБУЗ «Городская поликлиника № {n}»",
            "Государственное бюджетное учреждение здравоохранения «Городская поликлиника № {n}»",
        ),
    ),
    "med_inpatient": (
        6,
        "health",
        "fmba",
        (
            "ГБУЗ «Городская больница № {n}»",
            "Государственное бюджетное учреждение здравоохранения «Городская клиническая больница № {n}»",
        ),
    ),
    "med_maternity": (
        2,
        "health",
        "minzdrav",
        (
            "ГБУЗ «Родильный дом № {n}»",
            "Государственное бюджетное учреждение здравоохранения «Родильный дом № {n}»",
        ),
    ),
    "med_dental": (
        3,
        "health",
        None,
        (
            "ГАУЗ «Стоматологическая поликлиника № {n}»",
            "Государственное автономное учреждение здравоохранения «Стоматологическая поликлиника № {n}»",
        ),
    ),
    "med_emergency": (
        1,
        "health",
        None,
        (
            "ГБУЗ «Станция скорой медицинской помощи № {n}»",
            "Государственное бюджетное учреждение здравоохранения «Станция скорой медицинской помощи № {n}»",
        ),
    ),
    "edu_preschool": (
        20,
        "education",
        None,
        (
            "ГБДОУ «Детский сад № {n}»",
            "Государственное бюджетное дошкольное образовательное учреждение «Детский сад № {n}»",
        ),
    ),
    "edu_general": (
        22,
        "education",
        "minprosveshcheniya",
        (
            "ГБОУ «Школа № {n}»",
            "Государственное бюджетное общеобразовательное учреждение «Средняя общеобразовательная школа № {n}»",
        ),
    ),
    "edu_vocational": (
        5,
        "education",
        "minprosveshcheniya",
        (
            "ГАПОУ «Колледж № {n}»",
            "Государственное автономное профессиональное образовательное учреждение «Колледж № {n}»",
        ),
    ),
    "edu_supplementary": (
        6,
        "education",
        None,
        (
            "ГБУ ДО «Дом детского творчества № {n}»",
            "Государственное бюджетное учреждение дополнительного образования «Дом детского творчества № {n}»",
        ),
    ),
    "sport_school": (
        6,
        "sport",
        "minsport",
        (
            "ГБУ «Спортивная школа № {n}»",
            "Государственное бюджетное учреждение «Спортивная школа олимпийского резерва № {n}»",
        ),
    ),
    "sport_center": (
        3,
        "sport",
        None,
        (
            "ГАУ «Спортивный комплекс № {n}»",
            "Государственное автономное учреждение «Физкультурно-оздоровительный комплекс № {n}»",
        ),
    ),
    "social_center": (
        7,
        "social",
        "mintrud",
        (
            "ГБУ «КЦСОН № {n}»",
            "Государственное бюджетное учреждение «Комплексный центр социального обслуживания населения № {n}»",
        ),
    ),
    "social_residential": (
        3,
        "social",
        None,
        (
            "ГБСУ СО «Дом-интернат № {n}»",
            "Государственное бюджетное стационарное учреждение социального обслуживания «Дом-интернат для престарелых и инвалидов № {n}»",
        ),
    ),
    "social_rehab": (
        2,
        "social",
        "mintrud",
        (
            "ГБУ «Реабилитационный центр № {n}»",
            "Государственное бюджетное учреждение «Реабилитационный центр для детей и подростков с ограниченными возможностями № {n}»",
        ),
    ),
}


@dataclass(frozen=True)
class DemoLogin:
    role: Role
    email: str
    scope: str | None


AUTHORITY = "authority@demo.otklik.ru"


def demo_logins(first_ogrn: str) -> list[DemoLogin]:
    return [
        DemoLogin(Role.citizen, "citizen@demo.otklik.ru", None),
        DemoLogin(Role.organization, "clinic@demo.otklik.ru", f"organization:{first_ogrn}"),
        DemoLogin(Role.regional_authority, "region16@demo.otklik.ru", "region:16"),
        # the authority of the demo clinic's region (OGRN digits 4-5), who reviews its entries
        *(
            [DemoLogin(Role.regional_authority, AUTHORITY, f"region:{first_ogrn[3:5]}")]
            if first_ogrn
            else []
        ),
        DemoLogin(Role.federal_authority, "minzdrav@demo.otklik.ru", "founder:minzdrav"),
        DemoLogin(Role.coordinator, "mintrud@demo.otklik.ru", None),
        DemoLogin(Role.analyst, "analyst@demo.otklik.ru", None),
        DemoLogin(Role.wg_secretary, "secretary@demo.otklik.ru", None),
        DemoLogin(Role.portal_operator, "mintsifry@demo.otklik.ru", None),
        DemoLogin(Role.participant, "participant16@demo.otklik.ru", "region:16"),
        DemoLogin(Role.subcommission_secretary, "subcommission@demo.otklik.ru", None),
        DemoLogin(Role.lab, "lab@demo.otklik.ru", None),
        DemoLogin(Role.is_operator, "mis@demo.otklik.ru", None),
        DemoLogin(Role.admin, "admin@demo.otklik.ru", None),
    ]


def write_organizations_csv(path: Path, size: int, seed: int = SEED) -> None:
    """Write ``size`` synthetic organizations with valid OGRN/INN to ``path``."""
    rng = random.Random(seed)
    weights = [t[0] for t in TYPES.values()]
    numbers: dict[tuple[str, str], int] = {}
    regions = list(REGIONS)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(ORGANIZATION_COLUMNS)
        for i in range(size):
            region = regions[i % len(regions)] if i < len(regions) * 4 else rng.choice(regions)
            type_code = rng.choices(list(TYPES), weights)[0]
            _, body, federal, (short, full) = TYPES[type_code]
            n = numbers[(region, type_code)] = numbers.get((region, type_code), 0) + 1
            founder = regional_founder_code(region, body)
            if federal and rng.random() < 0.12:
                founder = federal
                short, full = "Ф" + short, "Федеральное " + full[0].lower() + full[1:]
            year = rng.randint(2, 24)
            ogrn = ogrn_with_checksum(f"1{year:02d}{region}{i + 1000000:07d}")
            inn = inn_with_checksum(f"{region}{rng.randint(10, 99):02d}{i % 100000:05d}")
            city = rng.choice(REGIONS[region])
            address = f"г. {city}, ул. {rng.choice(STREETS)}, д. {rng.randint(1, 150)}"
            start = "2025-06-15" if rng.random() < 0.8 else f"2025-{rng.randint(7, 12):02d}-01"
            joined = rng.random() < 0.93
            w.writerow(
                [
                    ogrn,
                    inn,
                    full.format(n=n),
                    short.format(n=n),
                    type_code,
                    region,
                    founder,
                    address,
                    start if joined else "",
                    "2026-12-31" if joined else "",
                ]
            )


async def seed_demo(session: AsyncSession, work_dir: Path, size: int = 2000) -> list[DemoLogin]:
    """Seed reference data, catalogue, organizations and one user per role (idempotent)."""
    await seed_reference(session)
    await seed_catalogue(session)
    work_dir.mkdir(parents=True, exist_ok=True)
    orgs_csv = work_dir / "demo-organizations.csv"
    write_organizations_csv(orgs_csv, size)
    report = await import_file(session, "organizations", orgs_csv, max_bytes=200 * 2**20)
    await record_import(session, ACTOR, "organizations", orgs_csv.name, report.summary())
    # the demo organization user: a Moscow polyclinic when there is one, else any organization
    first = await session.scalar(
        select(Organization.ogrn)
        .order_by(
            (Organization.type_code == "med_outpatient").desc(),
            (Organization.region_code == "77").desc(),
            Organization.ogrn,
        )
        .limit(1)
    )
    logins = demo_logins(first or "")
    existing = set((await session.scalars(select(User.email))).all())
    for login in logins:
        if login.email not in existing:
            await create_user(
                session,
                ACTOR,
                email=login.email,
                role=login.role,
                scope=login.scope,
                password=DEMO_PASSWORD,
            )
    return logins
