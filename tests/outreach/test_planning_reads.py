"""What planning reads (migration 0340): the task carries its record's organization, minor flag
and service, so no service record is read; a delivery's key check is inlined."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.intake.models import ServiceRecord
from otklik.outreach.models import Invitation, OutreachTask
from otklik.outreach.service import plan
from tests.factories import create_organization, service_record, snils
from tests.outreach.test_planning import adult, send


async def test_a_task_carries_its_records_organization_minor_flag_and_service(
    session: AsyncSession,
) -> None:
    org = await create_organization(session)
    other = await create_organization(session)
    await send(
        session,
        [
            service_record(org.ogrn, recipient=adult(snils())),
            service_record(
                other.ogrn,
                recipient={"snils": snils(), "birth_date": "2016-01-01"},
                representatives=[
                    {"snils": snils(), "relation": "parent", "portal_account_confirmed": True}
                ],
            ),
        ],
    )
    rows = (
        await session.execute(
            select(
                OutreachTask.organization_id,
                OutreachTask.is_minor,
                OutreachTask.service_code,
                ServiceRecord.organization_id,
                ServiceRecord.is_minor,
                ServiceRecord.service_code,
            ).join(ServiceRecord, ServiceRecord.id == OutreachTask.service_record_id)
        )
    ).all()
    assert len(rows) == 2
    for row in rows:
        assert tuple(row[:3]) == tuple(row[3:])
    assert {row[0] for row in rows} == {org.id, other.id}
    assert {row[1] for row in rows} == {False, True}


async def test_the_planner_decides_from_the_task_not_the_record(
    session: AsyncSession, settings: Settings
) -> None:
    # a task whose copy names another organization plans for that one: the record is not read
    org = await create_organization(session)
    other = await create_organization(session)
    await send(session, [service_record(org.ogrn, recipient=adult(snils()))])
    await session.execute(text("UPDATE outreach_tasks SET organization_id = :o"), {"o": other.id})
    assert await plan(session, settings) == 1
    invited = await session.scalar(select(Invitation.organization_id))
    assert invited == other.id


async def test_the_key_time_check_is_inlined_and_decodes_as_before(
    session: AsyncSession,
) -> None:
    plan_text = "\n".join(
        (
            await session.execute(
                text(
                    "EXPLAIN VERBOSE SELECT delivery_key_time(k)"
                    " FROM (SELECT gen_random_uuid() AS k) x"
                )
            )
        ).scalars()
    )
    assert "delivery_key_time" not in plan_text  # inlined: no SQL function call per row
    differing = await session.scalar(
        text(
            "WITH ks AS ("
            "  SELECT delivery_key(now() - g * interval '17 minutes 1 ms'"
            "    + g * interval '1 microsecond') AS k FROM generate_series(1, 5000) g"
            "  UNION ALL SELECT gen_random_uuid() FROM generate_series(1, 100)"
            "  UNION ALL SELECT CAST(NULL AS uuid))"
            # the body migration 0260 gave delivery_key_time, which the new one must equal
            " SELECT count(*) FROM ks WHERE delivery_key_time(k) IS DISTINCT FROM ("
            "  CASE WHEN substr(k::text, 15, 1) = '7' THEN timestamptz 'epoch'"
            "    + ((('x' || substr(replace(k::text, '-', ''), 1, 12))::bit(48)::bigint) * 1000"
            "       + (('x' || substr(k::text, 16, 3))::bit(12)::int)) * interval '1 microsecond'"
            "  END)"
        )
    )
    assert differing == 0
    decoded = await session.scalar(
        text(
            "SELECT count(*) FROM (SELECT now() - g * interval '1 hour 3 microseconds' AS at"
            " FROM generate_series(1, 1000) g) x WHERE delivery_key_time(delivery_key(at)) = at"
        )
    )
    assert decoded == 1000
