"""Planning decides in SQL (``repository.PLAN_BATCH``): the same decisions as deciding one
contact after another, link tokens that open the form, the same sample as ``sampled_in``."""

from __future__ import annotations

import hashlib
import hmac
import random
import uuid
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.intake.models import Contact, ServiceRecord
from otklik.outreach.channels import channel_order
from otklik.outreach.links import hmac_pads, link_token, token_hash
from otklik.outreach.models import Delivery, Invitation, OptOut, OutreachOutcome, OutreachTask
from otklik.outreach.service import enabled_names, plan, sample_below, sampled_in
from otklik.registry.models import Organization
from tests.factories import create_organization, service_record, snils
from tests.outreach.test_planning import key_of, send


def test_hmac_pads_give_the_hmac() -> None:
    for secret in ("t" * 40, "k", "ключ-" * 30):  # short, tiny, longer than a block (hashed)
        inner, outer = hmac_pads(secret)
        for message in (b"", b"otklik/invitation/" + uuid.uuid4().bytes):
            digest = hashlib.sha256(outer + hashlib.sha256(inner + message).digest()).digest()
            assert digest == hmac.digest(secret.encode(), message, "sha256")


def test_sample_below_is_the_draw_where_sampled_in_turns() -> None:
    for rate in (0.0, 1e-12, 0.3, 0.5, 0.999_999_999, 1.0, 2.0):
        below = bytes.fromhex(sample_below(rate))
        if len(below) == 9:  # everything in
            assert rate >= 1 or (2**64 - 1) / 2**64 < rate
            continue
        t = int.from_bytes(below, "big")
        assert t / 2**64 >= rate  # the draw t is out …
        assert t == 0 or (t - 1) / 2**64 < rate  # … and the one below it in
    for record_id in range(2_000):
        draw = hashlib.sha256(f"otklik/sample/{record_id}".encode()).digest()[:8]
        for rate in (0.1, 0.3, 0.77):
            assert (draw < bytes.fromhex(sample_below(rate))) == sampled_in(record_id, rate)


async def test_links_made_by_postgresql_open_with_the_token_python_derives(
    session: AsyncSession, settings: Settings
) -> None:
    org = await create_organization(session)
    for secret in (settings.secret_key, "очень-длинный-секрет-" * 5):
        keyed = settings.model_copy(update={"secret_key": secret})
        await send(session, [service_record(org.ogrn) for _ in range(5)])
        assert await plan(session, keyed) == 5
        rows = (
            await session.execute(
                select(Invitation.public_id, Invitation.token_hash).where(
                    Invitation.token_hash.is_not(None)
                )
            )
        ).all()
        mine = [(p, h) for p, h in rows if h == token_hash(link_token(secret, p))]
        assert len(mine) == 5
        assert all(len(link_token(secret, p)) == 32 for p, _ in mine)


async def test_sql_sample_is_sampled_in(session: AsyncSession, settings: Settings) -> None:
    org = await create_organization(session)
    await send(session, [service_record(org.ogrn) for _ in range(120)])
    rates = {"type:" + org.type_code: 0.1, "service:health.outpatient_visit": 0.4}
    await plan(session, settings.model_copy(update={"sampling_rates": rates}))
    rows = (
        await session.execute(
            select(OutreachOutcome.service_record_id, OutreachOutcome.reason)
            .join(ServiceRecord, ServiceRecord.id == OutreachOutcome.service_record_id)
            .where(ServiceRecord.organization_id == org.id)
        )
    ).all()
    assert len(rows) == 120
    expected = {r: sampled_in(r, 0.4) for r, _ in rows}  # the service's rate wins
    assert {r: reason != "sampled_out" for r, reason in rows} == expected
    assert 0 < sum(expected.values()) < 120


# --- the decisions against a reference that decides one contact after another ---------


def reference(
    settings: Settings,
    tasks: list[Any],
    contacts: dict[int, list[Any]],
    spent: list[tuple[bytes, int, datetime]],
    opted_out: set[bytes],
    now: datetime,
) -> dict[int, tuple[str, str | None, set[int]]]:
    """task id -> (status, reason, invited contact ids), deciding as the planner always did."""
    org_since = now - timedelta(days=settings.fatigue_organization_days)
    by_org: Counter[tuple[bytes, int]] = Counter()
    by_week: Counter[bytes] = Counter()
    for key, org, at in spent:
        by_org[(key, org)] += at >= org_since
        by_week[key] += at >= now - timedelta(days=7)
    enabled = enabled_names(settings)
    out = {}
    for t in sorted(tasks, key=lambda t: t.id):
        targets = [
            c
            for c in sorted(contacts[t.record_id], key=lambda c: (c.position, c.id))
            if (c.position == 0) != t.is_minor and c.portal_account_confirmed
        ]
        reason: str | None = None
        if not targets:
            reason = "no_confirmed_account"
        elif not sampled_in(t.record_id, settings.sampling_rates.get("type:" + t.type_code, 1)):
            reason = "sampled_out"
        invited = set()
        for c in targets if reason is None else []:
            k = c.person_key
            if k in opted_out:
                got = "opted_out"
            elif by_org[(k, t.org)] >= settings.fatigue_organization_max:
                got = "fatigue_organization"
            elif by_week[k] >= settings.fatigue_week_max:
                got = "fatigue_week"
            elif not channel_order(enabled, True, c.has_email, c.has_phone):
                got = "no_channel"
            else:
                invited.add(c.id)
                by_org[(k, t.org)] += 1
                by_week[k] += 1
                continue
            reason = reason or got
        out[t.id] = ("planned", None, invited) if invited else ("skipped", reason, invited)
    return out


def person(rng: random.Random, pool: list[str], portal: float = 0.85) -> dict[str, Any]:
    p: dict[str, Any] = {"snils": rng.choice(pool)}
    p["portal_account_confirmed"] = rng.random() < portal
    if rng.random() < 0.8:
        p["email"] = "a@example.ru"
    if rng.random() < 0.5:
        p["phone"] = "+79001234567"
    return p


async def test_decisions_in_sql_are_those_of_one_contact_after_another(
    session: AsyncSession, tmp_path: Path
) -> None:
    """Random records of a few people (adults and children with representatives, contacts
    without e-mail where e-mail is the only channel, opt-outs, a sample) over several rounds,
    so that budgets are spent both by earlier rounds and within a batch; every task's outcome
    and every invitation must be the reference's."""
    rng = random.Random(20261207)
    orgs: list[Organization] = [await create_organization(session) for _ in range(3)]
    by_id = {o.id: o for o in orgs}
    pool: list[str] = []
    checked = Counter[str]()
    for round_ in range(6):
        # a few people from the rounds before (budgets spent earlier) and new ones (budgets
        # spent within this batch), one of whom opted out
        pool = rng.sample(pool, min(len(pool), 3)) + [snils() for _ in range(5)]
        session.add(OptOut(person_key=key_of(pool[-1])))
        await session.flush()
        settings = Settings(  # e-mail the only channel: a contact without e-mail has none
            env="production",
            data_dir=tmp_path,
            secret_key="s" * 40,
            pii_key="p" * 40,
            smtp_host="127.0.0.1",
            quiet_hours_start=0,
            quiet_hours_end=0,
            fatigue_organization_max=1 + round_ // 4,
            fatigue_week_max=2 + round_ % 2,
            sampling_rates={"type:" + orgs[2].type_code: 0.8},
        )
        records = []
        for _ in range(rng.randint(30, 50)):
            org = rng.choice(orgs)
            if rng.random() < 0.7:
                adult = person(rng, pool) | {"birth_date": "1980-01-01"}
                records.append(service_record(org.ogrn, recipient=adult))
            else:
                reps = [
                    person(rng, [p]) | {"relation": "parent"}
                    for p in rng.sample(pool, rng.randint(1, 3))
                ]
                child = {"snils": snils(), "birth_date": "2016-01-01"}
                records.append(service_record(org.ogrn, recipient=child, representatives=reps))
        await send(session, records)
        now = datetime.now().astimezone() + timedelta(hours=1)
        tasks = (
            await session.execute(
                select(
                    OutreachTask.id,
                    ServiceRecord.id.label("record_id"),
                    ServiceRecord.organization_id.label("org"),
                    ServiceRecord.is_minor,
                )
                .join(ServiceRecord, ServiceRecord.id == OutreachTask.service_record_id)
                .where(OutreachTask.status == "pending")
            )
        ).all()
        tasks = [
            type("T", (), {**t._asdict(), "type_code": by_id[t.org].type_code})() for t in tasks
        ]
        contacts: dict[int, list[Any]] = {t.record_id: [] for t in tasks}
        for c in (await session.scalars(select(Contact))).all():
            if c.service_record_id in contacts:
                contacts[c.service_record_id].append(c)
        spent = [
            (k, o, at)
            for k, o, at in (
                await session.execute(
                    select(Invitation.person_key, Invitation.organization_id, Invitation.created_at)
                )
            ).all()
        ]
        opted = set((await session.scalars(select(OptOut.person_key))).all())
        expected = reference(settings, tasks, contacts, spent, opted, now)

        assert await plan(session, settings, limit=10_000, now=now) == len(tasks)

        records_of = {t.id: t.record_id for t in tasks}
        task_of = {r: t for t, r in records_of.items()}
        got_tasks = {
            task_of[i]: (s, r)
            for i, s, r in (
                await session.execute(
                    select(
                        OutreachOutcome.service_record_id,
                        OutreachOutcome.status,
                        OutreachOutcome.reason,
                    ).where(OutreachOutcome.service_record_id.in_(list(records_of.values())))
                )
            ).all()
        }
        invited = (
            await session.execute(
                select(Invitation.service_record_id, Invitation.contact_id, Delivery.channel)
                .join(Delivery, Delivery.invitation_id == Invitation.id)
                .where(Invitation.service_record_id.in_(list(records_of.values())))
            )
        ).all()
        assert {c for _, c, _ in invited} == {c for _, _, cs in expected.values() for c in cs}
        assert {ch for _, _, ch in invited} <= {"email"}
        assert got_tasks == {i: (s, r) for i, (s, r, _) in expected.items()}
        checked.update(r or s for s, r, _ in expected.values())
    # the rules were all exercised, not just the easy ones
    for outcome in (
        "planned",
        "opted_out",
        "fatigue_organization",
        "fatigue_week",
        "no_channel",
        "no_confirmed_account",
        "sampled_out",
    ):
        assert checked[outcome] > 0, checked
