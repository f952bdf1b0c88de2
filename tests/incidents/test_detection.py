"""The incident job: grouping by cause, evidence joining, reopening, storms, SLA flags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.identity.audit import Actor
from otklik.identity.roles import Role
from otklik.improvement.tasks import send_notifications
from otklik.incidents import service
from otklik.incidents.models import Incident, IncidentEvent, IncidentEvidence
from otklik.intake.models import IntakeBatch
from otklik.kit.scope import Scope
from tests.factories import create_organization, create_source, create_user
from tests.incidents.factories import drop_signals
from tests.outreach.conftest import Mailbox

NOW = datetime(2026, 12, 31, 22, 30, tzinfo=UTC)  # 01:30 on 1 January in Moscow
ACTOR = Actor.system("test")


async def test_one_cause_one_incident_and_later_signals_join(session: AsyncSession) -> None:
    org = await create_organization(session)
    await drop_signals(session, [org], "2026-W47")
    found = await service.detect(session, NOW)
    assert found["opened"] == 1
    await drop_signals(session, [org], "2026-W48", ewma=3.9)  # a deeper drop of the same cause
    found = await service.detect(session, NOW + timedelta(hours=1))
    assert found == {"signals": 1, "opened": 0, "reopened": 0, "sla_events": 0}
    incident = (await session.scalars(select(Incident))).one()
    assert incident.signal_count == 2
    assert incident.severity == 2  # a 0.7-point drop raises the severity
    assert incident.source == "signal"
    assert incident.ack_due == NOW + timedelta(hours=72)  # clocks of the opening severity
    # evidence is aggregated: both drop signals of the organization and day are one item
    item = (await session.scalars(select(IncidentEvidence))).one()
    assert item.kind == "indicator_drop"
    assert item.count == 2
    assert item.ref.startswith(f"signals:org:{incident.organization_id}:")
    assert len(item.samples) == 2
    assert item.samples[0].startswith("signals:")
    assert item.payload["period"] == "2026-W48"  # the latest signal's details
    assert item.first_seen <= item.observed_at
    # idempotent: running again stages nothing
    assert (await service.detect(session, NOW + timedelta(hours=2)))["signals"] == 0


async def test_resolved_incident_is_reopened_not_duplicated(session: AsyncSession) -> None:
    org = await create_organization(session)
    await drop_signals(session, [org], "2026-W47")
    await service.detect(session, NOW)
    incident = (await session.scalars(select(Incident))).one()
    scope = Scope.country()
    await service.transition(session, scope, ACTOR, NOW, incident.id, "acknowledge")
    await service.transition(session, scope, ACTOR, NOW, incident.id, "start")
    await service.transition(session, scope, ACTOR, NOW, incident.id, "resolve", "исправили")
    await drop_signals(session, [org], "2026-W49")
    found = await service.detect(session, NOW + timedelta(days=3))
    assert found["reopened"] == 1
    assert found["opened"] == 0
    await session.refresh(incident)
    assert incident.state == "in_progress"
    assert incident.reopened == 1
    assert await session.scalar(select(func.count()).select_from(Incident)) == 1
    kinds = [
        e.kind for e in (await session.scalars(select(IncidentEvent).order_by(IncidentEvent.id)))
    ]
    assert kinds[0] == "opened"
    assert "reopened" in kinds


async def test_signal_storm_opens_a_bounded_number_of_incidents(session: AsyncSession) -> None:
    orgs = [await create_organization(session, region="16") for _ in range(40)]
    orgs += [await create_organization(session, region="77") for _ in range(3)]
    # 1 000 drop signals in one minute: 25 weeks of each of 40 organizations
    for week in range(25):
        await drop_signals(session, orgs[:40], f"2026-W{week + 1:02d}")
    found = await service.detect(session, NOW)
    assert found["signals"] == 1000
    await drop_signals(session, orgs[40:])
    await service.detect(session, NOW)
    incidents = (await session.scalars(select(Incident).order_by(Incident.id))).all()
    # one regional incident for the storm, one per organization of the quiet region
    assert [i.cause_key for i in incidents] == [
        "region:16:indicator:overall",
        *sorted(f"org:{o.id}:indicator:overall" for o in orgs[40:]),
    ]
    storm = incidents[0]
    assert storm.signal_count == 1000
    assert storm.severity == 2
    assert storm.organization_id is None
    # its evidence: one item per organization and day, 25 signals each, 5 sample references
    items = (
        await session.scalars(
            select(IncidentEvidence).where(IncidentEvidence.incident_id == storm.id)
        )
    ).all()
    assert len(items) == 40
    assert {i.count for i in items} == {25}
    assert {len(i.samples) for i in items} == {5}
    assert {i.payload["organization_id"] for i in items} == {o.id for o in orgs[:40]}


async def test_silent_source_opens_one_incident(session: AsyncSession) -> None:
    source, _ = await create_source(session)
    session.add(
        IntakeBatch(
            source_id=source.id,
            channel="api",
            received_at=NOW - timedelta(days=4),
            records=1,
            accepted=1,
            duplicates=0,
            rejected=0,
        )
    )
    await session.flush()
    await service.detect(session, NOW)
    await service.detect(session, NOW + timedelta(hours=1))
    incident = (await session.scalars(select(Incident))).one()
    assert incident.cause_key == f"source:{source.id}:silent"
    assert incident.severity == 2
    assert incident.signal_count == 1


async def test_sla_warning_breach_and_waiting_pause(session: AsyncSession) -> None:
    org = await create_organization(session, region="25")  # Vladivostok, UTC+10
    scope = Scope.country()
    incident = await service.open_manual(
        session,
        scope,
        ACTOR,
        NOW,
        title="Не работает запись к врачу",
        subject="service:x",
        severity=1,
        organization_id=org.id,
        region_code=None,
    )
    assert incident.ack_due == NOW + timedelta(hours=4)
    assert (await service.detect(session, NOW + timedelta(hours=2)))["sla_events"] == 0
    assert (await service.detect(session, NOW + timedelta(hours=3)))["sla_events"] == 1
    await session.refresh(incident)
    assert incident.ack_warned
    assert not incident.breached
    await service.detect(session, NOW + timedelta(hours=4, minutes=1))
    await session.refresh(incident)
    assert incident.ack_breached
    # waiting stops the resolution clock; resuming shifts its due time by the pause
    t = NOW + timedelta(hours=5)
    await service.transition(session, scope, ACTOR, t, incident.id, "acknowledge")
    await service.transition(session, scope, ACTOR, t, incident.id, "start")
    await service.transition(session, scope, ACTOR, t, incident.id, "wait", "ждём поставщика")
    assert (await service.detect(session, NOW + timedelta(hours=30)))["sla_events"] == 0
    await service.transition(
        session, scope, ACTOR, NOW + timedelta(hours=35), incident.id, "resume"
    )
    await session.refresh(incident)
    assert incident.resolve_due == NOW + timedelta(hours=24 + 30)
    assert not incident.resolve_breached


async def test_sla_warning_and_breach_e_mail_the_owner(
    session: AsyncSession, smtp: tuple[Mailbox, int], tmp_path: Path
) -> None:
    box, port = smtp
    org = await create_organization(session, region="16")
    owner = await create_user(
        session, Role.participant, scope="region:16", email="owner@example.test"
    )
    scope = Scope.country()
    incident = await service.open_manual(
        session, scope, ACTOR, NOW, title="Не работает запись к врачу", subject="service:x",
        severity=1, organization_id=org.id, region_code=None,
    )  # fmt: skip
    await service.assign_owner(session, scope, ACTOR, NOW, incident.id, owner.email)
    settings = Settings(
        env="test", data_dir=tmp_path, secret_key="t" * 40, pii_key="p" * 40,
        smtp_host="127.0.0.1", smtp_port=port,
    )  # fmt: skip
    # e-mails other tests left committed in the database are sent first: the counts below are
    # this incident's alone
    await send_notifications(session, settings)
    box.messages.clear()
    await service.detect(session, NOW + timedelta(hours=3))  # a quarter of 4 hours left
    await service.detect(session, NOW + timedelta(hours=3, minutes=30))  # no second warning
    assert await send_notifications(session, settings) == 1
    await service.detect(session, NOW + timedelta(hours=4, minutes=1))
    assert await send_notifications(session, settings) == 1
    mine = [m for m in box.messages if m["To"] == owner.email]
    assert [m["Subject"] for m in mine] == [
        f"Инцидент № {incident.id}: скоро истекает срок",
        f"Инцидент № {incident.id}: срок нарушен",
    ]
    assert f"/incidents/{incident.id}" in mine[1].get_content()
    # an incident without an owner: its flags, no e-mail
    other = await service.open_manual(
        session, scope, ACTOR, NOW, title="Нет талонов к окулисту", subject="service:y",
        severity=1, organization_id=org.id, region_code=None,
    )  # fmt: skip
    assert (await service.detect(session, NOW + timedelta(hours=3)))["sla_events"] == 1
    assert await send_notifications(session, settings) == 0
    await session.refresh(other)
    assert other.ack_warned
