"""Who is invited: eligibility, one fatigue budget per person, sampling, quiet hours."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from otklik.config import Settings
from otklik.db import create_engine
from otklik.intake.models import Contact, IntakeBatch, ServiceRecord, Source
from otklik.intake.service import ingest
from otklik.kit.pii import PiiVault
from otklik.outreach.models import Delivery, Invitation, OutreachOutcome, OutreachTask
from otklik.outreach.repository import partition
from otklik.outreach.service import plan, quiet_hold, sampled_in
from otklik.registry.models import Organization
from otklik.surveys.models import QuestionnaireVersion
from tests.factories import create_organization, create_source, service_record, snils

VAULT = PiiVault("p" * 40)


def adult(key_snils: str, portal: bool = True, **extra: Any) -> dict[str, Any]:
    return {
        "snils": key_snils,
        "birth_date": "1980-01-01",
        "portal_account_confirmed": portal,
        **extra,
    }


async def send(session: AsyncSession, records: list[dict[str, Any]]) -> None:
    source, _ = await create_source(session)
    result = await ingest(
        session, source.id, records, vault=VAULT, retention_days=45, channel="api"
    )
    assert result.accepted == len(records), result.errors


async def outcomes(session: AsyncSession) -> list[tuple[str, str | None]]:
    """Every record's outcome, pending ones included, in the order the records came."""
    decided = select(
        OutreachOutcome.service_record_id, OutreachOutcome.status, OutreachOutcome.reason
    )
    pending = select(OutreachTask.service_record_id, OutreachTask.status, OutreachTask.reason)
    rows = await session.execute(decided.union_all(pending).order_by(literal_column("1")))
    return [(s, r) for _, s, r in rows]


async def count(session: AsyncSession, model: type[Any]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_adults_minors_and_accounts(session: AsyncSession, settings: Settings) -> None:
    org = await create_organization(session)
    child = service_record(
        org.ogrn,
        recipient={"snils": snils(), "birth_date": "2016-01-01"},
        representatives=[
            {"snils": snils(), "relation": "parent", "portal_account_confirmed": True},
            {"snils": snils(), "relation": "parent", "portal_account_confirmed": True},
            {"snils": snils(), "relation": "guardian", "portal_account_confirmed": False},
        ],
    )
    await send(
        session,
        [
            service_record(org.ogrn, recipient=adult(snils())),
            service_record(org.ogrn, recipient=adult(snils(), portal=False)),
            child,
        ],
    )
    assert await plan(session, settings) == 3
    assert await outcomes(session) == [
        ("planned", None),
        ("skipped", "no_confirmed_account"),
        ("planned", None),
    ]
    assert await count(session, Invitation) == 3  # one adult, two parents
    assert await count(session, Delivery) == 3
    # nobody will contact the skipped person: their contacts are gone already
    assert await count(session, Contact) == 1 + 4
    assert await plan(session, settings) == 0  # nothing is planned twice


async def test_one_fatigue_budget_per_person(session: AsyncSession, settings: Settings) -> None:
    orgs: list[Organization] = [await create_organization(session) for _ in range(4)]
    person = snils()
    records = [
        service_record(orgs[0].ogrn, recipient=adult(person)),
        service_record(orgs[0].ogrn, recipient=adult(person)),  # same organization again
        service_record(orgs[1].ogrn, recipient=adult(person)),
        service_record(orgs[2].ogrn, recipient=adult(person)),  # third in a week
    ]
    await send(session, records)
    await plan(session, settings)
    assert await outcomes(session) == [
        ("planned", None),
        ("skipped", "fatigue_organization"),
        ("planned", None),
        ("skipped", "fatigue_week"),
    ]
    # the budget also counts invitations of earlier planning runs
    await send(session, [service_record(orgs[3].ogrn, recipient=adult(person))])
    await plan(session, settings)
    assert (await outcomes(session))[-1] == ("skipped", "fatigue_week")


async def test_sampling_and_missing_channels(
    session: AsyncSession, settings: Settings, tmp_path: Path
) -> None:
    org = await create_organization(session)
    await send(session, [service_record(org.ogrn, recipient=adult(snils()))])
    sampled = settings.model_copy(update={"sampling_rates": {"service:health.outpatient_visit": 0}})
    await plan(session, sampled)
    await send(session, [service_record(org.ogrn, recipient=adult(snils()))])
    production = Settings(
        env="production", data_dir=tmp_path, secret_key="s" * 40, pii_key="p" * 40
    )
    await plan(session, production)  # no channel configured, no log channel outside demo/test
    assert await outcomes(session) == [("skipped", "sampled_out"), ("skipped", "no_channel")]
    assert sampled_in(1, 1.0)
    share = sum(sampled_in(i, 0.3) for i in range(10_000)) / 10_000
    assert 0.27 < share < 0.33


def test_quiet_hours_hold_until_morning_in_the_region() -> None:
    late = datetime(2026, 11, 20, 19, 30, tzinfo=UTC)  # 22:30 in Moscow, 05:30 in Vladivostok
    assert quiet_hold(late, "Europe/Moscow", 21, 9) == datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
    assert quiet_hold(late, "Asia/Vladivostok", 21, 9) == datetime(2026, 11, 20, 23, 0, tzinfo=UTC)
    day = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
    assert quiet_hold(day, "Europe/Moscow", 21, 9) == day
    assert quiet_hold(late, "Europe/Moscow", 0, 0) == late  # start == end: no quiet hours
    # a window within one day: 13:00-15:00 local
    assert quiet_hold(day, "Europe/Moscow", 11, 15) == datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def tomorrow_at(hour: int) -> datetime:
    """An explicit instant (UTC) after every task's ``run_after``, whatever the clock says."""
    return (datetime.now(UTC) + timedelta(days=1)).replace(
        hour=hour, minute=0, second=0, microsecond=0
    )


async def test_invitations_wait_for_the_morning(session: AsyncSession, settings: Settings) -> None:
    assert settings.quiet_hours is None  # tests run without quiet hours unless they ask
    quiet = settings.model_copy(update={"quiet_hours_start": 21, "quiet_hours_end": 9})
    far_east = await create_organization(session, region="25")  # Primorsky krai, UTC+10
    moscow = await create_organization(session, region="77")  # UTC+3
    await send(
        session,
        [
            service_record(far_east.ogrn, recipient=adult(snils())),
            service_record(moscow.ogrn, recipient=adult(snils())),
        ],
    )
    night = tomorrow_at(14)  # 00:00 in Vladivostok, 17:00 in Moscow
    await plan(session, quiet, now=night)
    held, now = (await session.scalars(select(Delivery).order_by(Delivery.id))).all()
    assert held.next_attempt_at == night.replace(hour=23)  # 09:00 in Vladivostok
    assert now.next_attempt_at == night  # daytime in Moscow: at once


async def test_invitations_pin_the_questionnaire_published_last(
    session: AsyncSession, settings: Settings
) -> None:
    org = await create_organization(session)
    await send(session, [service_record(org.ogrn, recipient=adult(snils()))])
    await plan(session, settings)  # the built-in version, published by the migrations
    day = datetime.now(UTC) + timedelta(days=1)
    session.add_all(
        [
            QuestionnaireVersion(
                version="v-old", title="А", definition={}, status="published", published_at=day
            ),
            QuestionnaireVersion(
                version="v-new",
                title="Б",
                definition={},
                status="published",
                published_at=day + timedelta(days=1),
            ),
            QuestionnaireVersion(version="v-draft", title="В", definition={}),
        ]
    )
    await session.flush()
    await send(session, [service_record(org.ogrn, recipient=adult(snils()))])
    await plan(session, settings)
    pinned = await session.scalars(select(Invitation.questionnaire_version).order_by(Invitation.id))
    assert list(pinned) == ["2025.1", "v-new"]


def key_of(person: str) -> bytes:
    return VAULT.person_key(person.replace("-", "").replace(" ", ""))


def person_in(part: int | None = None, not_in: int | None = None) -> str:
    """A SNILS whose person key falls in partition ``part`` (or outside ``not_in``)."""
    while True:
        p = snils()
        got = partition(key_of(p))
        if (part is None or got == part) and got != not_in:
            return p


async def test_a_planner_holds_its_partition_and_leaves_the_others_free(
    engine: AsyncEngine, settings: Settings
) -> None:
    x = person_in()
    y = person_in(not_in=partition(key_of(x)))
    async with engine.connect() as first, engine.connect() as second:
        await first.begin()
        await second.begin()
        busy = AsyncSession(bind=first)
        other = AsyncSession(bind=second)
        org = await create_organization(busy)
        await send(busy, [service_record(org.ogrn, recipient=adult(x))])
        assert await plan(busy, settings) == 1  # x's partition is held until busy ends
        org2 = await create_organization(other)
        await send(other, [service_record(org2.ogrn, recipient=adult(p)) for p in (x, y)])
        assert await plan(other, settings) == 1  # y: another partition, planned at once
        assert await plan(other, settings) == 0  # x waits: another planner spends x's budget
        assert await outcomes(other) == [("pending", None), ("planned", None)]
        await first.rollback()
        assert await plan(other, settings) == 1
        await second.rollback()
        await busy.close()
        await other.close()


async def test_a_childs_representatives_in_another_planners_partition_wait(
    engine: AsyncEngine, settings: Settings
) -> None:
    parent = person_in()
    child_snils = person_in(not_in=partition(key_of(parent)))
    async with engine.connect() as first, engine.connect() as second:
        await first.begin()
        await second.begin()
        busy = AsyncSession(bind=first)
        other = AsyncSession(bind=second)
        org = await create_organization(busy)
        await send(busy, [service_record(org.ogrn, recipient=adult(parent))])
        assert await plan(busy, settings) == 1  # holds the parent's partition
        org2 = await create_organization(other)
        child = service_record(
            org2.ogrn,
            recipient={"snils": child_snils, "birth_date": "2016-01-01"},
            representatives=[
                {"snils": parent, "relation": "parent", "portal_account_confirmed": True}
            ],
        )
        await send(other, [child])
        assert await plan(other, settings) == 0  # the child's partition is free, the parent's not
        assert await outcomes(other) == [("pending", None)]
        await first.rollback()
        assert await plan(other, settings) == 1
        assert await outcomes(other) == [("planned", None)]
        await second.rollback()
        await busy.close()
        await other.close()


PLANNERS = 4


async def test_four_planners_at_once_never_spend_a_budget_twice(
    database_url: str, engine: AsyncEngine, settings: Settings
) -> None:
    """Committed data, four planners on four connections, small batches so that they
    interleave; then every person's budget is checked (the suite's rules: one invitation per
    organization in 30 days, two in 7 days)."""
    real = create_engine(database_url)
    factory = async_sessionmaker(real, expire_on_commit=False)
    rng = random.Random(19)
    people = [snils() for _ in range(12)]
    async with factory() as s:
        orgs = [await create_organization(s) for _ in range(3)]
        records = [
            service_record(rng.choice(orgs).ogrn, recipient=adult(rng.choice(people)))
            for _ in range(90)
        ]
        records += [
            service_record(
                rng.choice(orgs).ogrn,
                recipient={"snils": snils(), "birth_date": "2016-01-01"},
                representatives=[
                    {"snils": p, "relation": "parent", "portal_account_confirmed": True}
                    for p in rng.sample(people, 2)
                ],
            )
            for _ in range(30)
        ]
        await send(s, records)
        await s.commit()
    org_ids = [o.id for o in orgs]
    mine = select(ServiceRecord.id).where(ServiceRecord.organization_id.in_(org_ids))
    try:
        done = [0] * PLANNERS

        async def pending() -> int:
            async with factory() as s:
                q = select(func.count()).where(
                    OutreachTask.status == "pending", OutreachTask.service_record_id.in_(mine)
                )
                return int(await s.scalar(q) or 0)

        async def planner(i: int) -> None:
            for _ in range(2000):
                async with factory() as s:
                    n = await plan(s, settings, limit=3)
                    await s.commit()
                done[i] += n
                if n == 0:
                    if not await pending():
                        return
                    await asyncio.sleep(0.01)

        await asyncio.gather(*(planner(i) for i in range(PLANNERS)))
        assert await pending() == 0
        assert sum(done) == len(records)
        assert sum(1 for n in done if n) >= 2  # they did plan side by side
        async with factory() as s:
            rows = (
                await s.execute(
                    select(Invitation.person_key, Invitation.organization_id).where(
                        Invitation.service_record_id.in_(mine)
                    )
                )
            ).all()
            statuses = Counter(
                (
                    await s.scalars(
                        select(OutreachOutcome.status).where(
                            OutreachOutcome.service_record_id.in_(mine)
                        )
                    )
                ).all()
            )
        per_org = Counter((k, o) for k, o in rows)
        per_person = Counter(k for k, _ in rows)
        assert per_org
        assert max(per_org.values()) <= settings.fatigue_organization_max
        assert max(per_person.values()) <= settings.fatigue_week_max
        # and the budget was used, not just refused: everyone got their two invitations
        assert set(per_person.values()) == {settings.fatigue_week_max}
        assert len(per_person) == len(people)
        assert statuses["planned"] >= len(people)
    finally:
        async with factory() as s:
            sources = select(ServiceRecord.source_id).where(
                ServiceRecord.organization_id.in_(org_ids)
            )
            source_ids = list((await s.scalars(sources)).all())
            await s.execute(delete(ServiceRecord).where(ServiceRecord.organization_id.in_(org_ids)))
            await s.execute(delete(IntakeBatch).where(IntakeBatch.source_id.in_(source_ids)))
            await s.execute(delete(Source).where(Source.id.in_(source_ids)))
            await s.execute(delete(Organization).where(Organization.id.in_(org_ids)))
            await s.commit()
        await real.dispose()
