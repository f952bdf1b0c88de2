"""The demo's information system: service records at a realistic daily rhythm.

History (two weeks) goes through ``intake.service.ingest`` with the time it would have been
received; the live stream is posted to the running server's intake API, like a real system.
Some records are late, some are sent twice, some are invalid.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.identity.audit import Actor
from otklik.identity.models import User
from otklik.intake import repository as intake_repository
from otklik.intake.service import create_source, ingest, link_operator, rotate_key
from otklik.kit.clock import MOSCOW
from otklik.kit.pii import PiiVault
from otklik.registry.models import Organization, ServiceOrganizationType
from otklik.registry.validators import snils_with_checksum

log = logging.getLogger(__name__)
SOURCE = "demo-mis"
OPERATOR = "mis@demo.otklik.ru"
CITIZEN = "citizen@demo.otklik.ru"
CITIZEN_SNILS = snils_with_checksum("145000321")
ACTOR = Actor.system("demo")
# Share of a day's services in each Moscow hour: a morning peak, quiet nights.
HOURLY = [0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1, 3, 8, 11, 11, 10, 8, 7, 8, 8, 7, 6, 4, 3, 2, 1, 0.5, 0.3]
WEEKEND = 0.25
LATE, REPEAT, INVALID = 0.06, 0.02, 0.03
RELATIONS = ("parent", "parent", "parent", "guardian", "adoptive_parent")


@dataclass(frozen=True)
class Place:
    ogrn: str
    services: tuple[str, ...]


def day_weight(day: date) -> float:
    return WEEKEND if day.weekday() >= 5 else 1.0


def hour_share(hour: int) -> float:
    return HOURLY[hour] / sum(HOURLY)


class Generator:
    """Synthetic records: valid by default, with a share of late, repeated and invalid ones."""

    def __init__(self, places: list[Place], seed: int) -> None:
        self.places = places
        self.rng = random.Random(seed)
        self.serial = 0
        self.sent: list[dict[str, Any]] = []

    def _snils(self) -> str:
        return snils_with_checksum(f"{self.rng.randint(2_000_000, 999_999_999):09d}")

    def _person(self, birth: date | None) -> dict[str, Any]:
        rng = self.rng
        person: dict[str, Any] = {"snils": self._snils()}
        if birth:
            person["birth_date"] = birth.isoformat()
        person["portal_account_confirmed"] = rng.random() < 0.8
        if rng.random() < 0.5:
            person["email"] = f"user{rng.randint(1, 10**7)}@example.ru"
        if rng.random() < 0.7:
            person["phone"] = f"+79{rng.randint(10**8, 10**9 - 1)}"
        return person

    def record(self, served_at: datetime) -> dict[str, Any]:
        rng = self.rng
        place = rng.choice(self.places)
        self.serial += 1
        child = rng.random() < 0.2
        years = rng.randint(1, 17) if child else rng.randint(18, 90)
        birth = served_at.date() - timedelta(days=365 * years + rng.randint(1, 360))
        record: dict[str, Any] = {
            "record_id": f"DEMO-{served_at:%Y%m%d}-{self.serial:07d}-{rng.randint(0, 9999):04d}",
            "organization_ogrn": place.ogrn,
            "service_code": rng.choice(place.services),
            "served_at": served_at.astimezone(MOSCOW).isoformat(timespec="seconds"),
            "recipient": self._person(birth),
        }
        if child:
            rep = self._person(None)
            rep["relation"] = rng.choice(RELATIONS)
            record["representatives"] = [rep]
        if rng.random() < INVALID:
            record["recipient"]["snils"] = "123-456-789 00"  # wrong checksum
        return record

    def batch(self, now: datetime, n: int) -> list[dict[str, Any]]:
        """``n`` records reported at ``now``: mostly served hours ago, some late, some repeated."""
        out = []
        for _ in range(n):
            if self.sent and self.rng.random() < REPEAT:
                out.append(self.rng.choice(self.sent[-500:]))
                continue
            late = self.rng.random() < LATE
            delay = (
                timedelta(hours=self.rng.uniform(74, 140))
                if late
                else timedelta(minutes=self.rng.uniform(5, 60 * 30))
            )
            record = self.record(now - delay)
            self.sent.append(record)
            out.append(record)
        del self.sent[:-2000]
        return out


async def places(session: AsyncSession, limit: int = 400, first: str = "") -> list[Place]:
    """The organizations the simulator serves: ``first`` (the demo organization user's)
    first, then the others by OGRN."""
    offered: dict[str, list[str]] = defaultdict(list)
    for service, type_code in (
        await session.execute(
            select(ServiceOrganizationType.service_code, ServiceOrganizationType.type_code)
        )
    ).all():
        offered[type_code].append(service)
    rows = await session.execute(
        select(Organization.ogrn, Organization.type_code)
        .order_by((Organization.ogrn == first).desc(), Organization.ogrn)
        .limit(limit)
    )
    return [Place(ogrn, tuple(offered[t])) for ogrn, t in rows if offered[t]]


async def prepare(
    session: AsyncSession,
    settings: Settings,
    *,
    days: int = 14,
    per_day: int = 2500,
    first: str = "",
) -> tuple[str, list[Place]]:
    """Make sure the demo source exists (a fresh key each start) and has two weeks of history."""
    source = await intake_repository.get_source_by_name(session, SOURCE)
    if source is None:
        source, key = await create_source(session, ACTOR, SOURCE)
    else:
        key = await rotate_key(session, ACTOR, SOURCE, grace=timedelta(0))
    await link_operator(session, ACTOR, OPERATOR, SOURCE)
    found = await places(session, first=first)
    if found and not await intake_repository.source_has_records(session, source.id):
        await seed_history(session, settings, source.id, found, days=days, per_day=per_day)
        await seed_citizen(session, settings, source.id, found)
    return key, found


async def seed_citizen(
    session: AsyncSession, settings: Settings, source_id: int, found: list[Place]
) -> None:
    """The demo citizen: a person key (as if confirmed at sign-in) and two recent services."""
    vault = PiiVault(settings.pii_key)
    citizen = await session.scalar(select(User).where(User.email == CITIZEN))
    if citizen is None:
        return
    citizen.person_key = vault.person_key(CITIZEN_SNILS)
    now = datetime.now(UTC)
    records = []
    for n, place in enumerate(found[:2]):
        served = now - timedelta(hours=3 + 20 * n)
        records.append(
            {
                "record_id": f"DEMO-CITIZEN-{served:%Y%m%d%H}-{n}",
                "organization_ogrn": place.ogrn,
                "service_code": place.services[0],
                "served_at": served.astimezone(MOSCOW).isoformat(timespec="seconds"),
                "recipient": {
                    "snils": CITIZEN_SNILS,
                    "birth_date": "1975-04-12",
                    "portal_account_confirmed": True,
                    "email": "citizen@demo.otklik.ru",
                },
            }
        )
    await ingest(
        session,
        source_id,
        records,
        vault=vault,
        retention_days=settings.retention_days,
        channel="api",
    )


async def seed_history(
    session: AsyncSession,
    settings: Settings,
    source_id: int,
    found: list[Place],
    *,
    days: int,
    per_day: int,
) -> None:
    gen = Generator(found, seed=7)
    vault = PiiVault(settings.pii_key)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    for h in range(days * 24, 0, -1):
        at = now - timedelta(hours=h)
        local = at.astimezone(MOSCOW)
        n = round(per_day * day_weight(local.date()) * hour_share(local.hour))
        if n:
            await ingest(
                session,
                source_id,
                gen.batch(at, n),
                vault=vault,
                retention_days=settings.retention_days,
                channel="api",
                received_at=at,
            )


async def run_live(
    base_url: str, key: str, found: list[Place], *, per_day: int = 20000, tick: float = 10.0
) -> None:
    """Post records to the intake API every ``tick`` seconds, following the daily rhythm."""
    gen = Generator(found, seed=int(datetime.now(UTC).timestamp()))
    carry = 0.0
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        while True:
            await asyncio.sleep(tick)
            now = datetime.now(UTC)
            local = now.astimezone(MOSCOW)
            carry += per_day * day_weight(local.date()) * hour_share(local.hour) * tick / 3600
            n, carry = int(carry), carry - int(carry)
            if not n:
                continue
            try:
                resp = await client.post(
                    "/api/v1/service-records",
                    json=gen.batch(now, n),
                    headers={"Authorization": f"Bearer {key}"},
                )
                log.info("demo intake: %s", resp.status_code)
            except httpx.HTTPError as exc:
                log.warning("demo intake failed: %s", exc.__class__.__name__)
