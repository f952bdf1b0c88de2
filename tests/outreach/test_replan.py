"""Quiet hours changed after planning: ``replan-held`` gives held messages a new send time."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.outreach.models import Delivery
from otklik.outreach.service import plan, replan_held
from tests.factories import create_organization, service_record, snils
from tests.outreach.conftest import Sink
from tests.outreach.test_delivery import configured, run
from tests.outreach.test_planning import adult, send, tomorrow_at


async def test_replan_held_under_the_current_quiet_hours(
    session: AsyncSession, settings: Settings, sink: Sink
) -> None:
    night_rules = configured(
        settings, portal_notify_url=sink.url, quiet_hours_start=21, quiet_hours_end=9
    )
    org = await create_organization(session, region="25")  # Vladivostok, UTC+10
    await send(session, [service_record(org.ogrn, recipient=adult(snils())) for _ in range(2)])
    night = tomorrow_at(14)  # 00:00 local
    await plan(session, night_rules, now=night)
    morning = night.replace(hour=23)  # 09:00 local
    held = (await session.scalars(select(Delivery).order_by(Delivery.id))).all()
    assert [d.next_attempt_at for d in held] == [morning, morning]
    # a retry waiting out a backoff is not a held message: left alone
    held[1].attempts = 1
    first_id, retry_id = (held[0].id, held[0].created_at), (held[1].id, held[1].created_at)
    await session.flush()

    # quiet hours now 23:00–07:00: at 01:00 local the message waits until 07:00 local
    shorter = night_rules.model_copy(update={"quiet_hours_start": 23, "quiet_hours_end": 7})
    one_am = night + timedelta(hours=1)
    dry = await replan_held(session, shorter, now=one_am, apply=False)
    assert (dry.held, dry.moved, dry.released) == (1, 1, 0)
    session.expire_all()
    first = await session.get(Delivery, first_id)
    assert first is not None
    assert first.next_attempt_at == morning  # a dry run changes nothing
    done = await replan_held(session, shorter, now=one_am)
    assert (done.held, done.moved, done.released) == (1, 1, 0)
    session.expire_all()
    first = await session.get(Delivery, first_id)
    assert first is not None
    assert first.next_attempt_at == night + timedelta(hours=7)  # 07:00 local
    assert await replan_held(session, shorter, now=one_am) == type(done)(1, 0, 0)  # idempotent

    # quiet hours switched off: released at once, and sent by the next delivery run
    off = night_rules.model_copy(update={"quiet_hours_start": 0, "quiet_hours_end": 0})
    released = await replan_held(session, off, now=one_am)
    assert (released.moved, released.released) == (1, 1)
    assert await run(session, off, now=one_am) == 1
    assert len(sink.received) == 1
    session.expire_all()
    retry = await session.get(Delivery, retry_id)
    assert retry is not None
    assert retry.next_attempt_at == morning  # the backoff retry kept its time
