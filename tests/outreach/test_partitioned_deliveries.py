"""Deliveries partitioned by month: a message of last month is claimed, sent, resent after a
crash with the same key and recorded in its own month; a channel's callback finds it by its
key; the next channel's message and a reminder land in this month; an opt-out cancels the
queued messages of every month (docs/deployment.md, "Partitions and retention")."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.kit.clock import moscow_date, now_utc
from otklik.ops import partitions
from otklik.outreach import repository
from otklik.outreach.models import key_time
from otklik.outreach.service import delivery_status, queue_reminders
from tests.outreach.conftest import Sink
from tests.outreach.test_delivery import configured, invite, run


def _last_month(now: datetime) -> datetime:
    """Noon on the 10th of the previous Moscow month."""
    first = partitions.add_months(moscow_date(now).replace(day=1), -1)
    return datetime.combine(first.replace(day=10), datetime.min.time(), now.tzinfo) + timedelta(
        hours=12
    )


async def _rows(session: AsyncSession) -> list[Any]:
    rows = await session.execute(
        text(
            "SELECT id, created_at, idempotency_key, channel, status, "
            "tableoid::regclass::text AS part FROM deliveries ORDER BY id"
        )
    )
    return list(rows.all())


async def _back_to(session: AsyncSession, at: datetime) -> None:
    """Every invitation and delivery made at ``at`` (a new key encoding it), the month's
    partition made."""
    await session.execute(text("UPDATE invitations SET created_at = :at"), {"at": at})
    await session.execute(text("UPDATE invitation_keys SET created_at = :at"), {"at": at})
    await session.execute(
        text("UPDATE deliveries SET created_at = :at, idempotency_key = delivery_key(:at)"),
        {"at": at},
    )
    await partitions.maintain(session, now_utc(), 48)


async def test_a_message_of_last_month_is_sent_once_and_found_by_its_key(
    session: AsyncSession, settings: Settings, sink: Sink
) -> None:
    s = configured(settings, portal_notify_url=sink.url, sms_gateway_url=sink.url)
    await invite(session, s, n=3, phone="+79001112233")
    now = now_utc()
    then = _last_month(now)
    this_part = f"deliveries_p{moscow_date(now):%Y%m}"
    last_part = f"deliveries_p{moscow_date(then):%Y%m}"
    await _back_to(session, then)
    rows = await _rows(session)
    assert {r.part for r in rows} == {last_part}
    assert all(key_time(r.idempotency_key) == r.created_at == then for r in rows)
    await session.commit()

    async with session.begin_nested() as doomed:
        assert await run(session, s, now=now) == 3  # messages go out…
        await doomed.rollback()  # …and the worker dies before its commit
    assert await run(session, s, now=now) == 3  # claimed again, sent with the same keys
    assert await run(session, s, now=now) == 0
    assert len(sink.received) == 6
    rows = await _rows(session)
    assert set(sink.unique()) == {str(r.idempotency_key) for r in rows}
    assert [(r.status, r.part) for r in rows] == [("sent", last_part)] * 3

    # a channel's report from this month finds last month's row by its key alone
    first, second = (r.idempotency_key for r in rows[:2])
    assert await delivery_status(session, s, first, "delivered", "")
    assert await delivery_status(session, s, second, "failed", "абонент недоступен")
    assert not await delivery_status(session, s, uuid.uuid4(), "delivered", "")  # unknown key
    rows = await _rows(session)
    assert [(r.status, r.part) for r in rows[:3]] == [
        ("delivered", last_part),
        ("failed", last_part),
        ("sent", last_part),
    ]
    # the next channel's message is made now, in this month, with a key of its own time
    [sms] = rows[3:]
    assert (sms.channel, sms.status, sms.part) == ("sms", "queued", this_part)
    assert key_time(sms.idempotency_key) == sms.created_at
    assert await run(session, s) == 1  # due from the callback's time
    assert [r.status for r in await _rows(session)][3] == "sent"

    # reminders: the last message of an invitation is read in its months only
    later = now + timedelta(days=s.reminder_after_days, minutes=1)
    assert await queue_reminders(session, s, now=later) == 3
    reminders = [r for r in await _rows(session) if r.id > sms.id]
    assert sorted(r.channel for r in reminders) == ["portal", "portal", "sms"]
    assert {r.part for r in reminders} == {this_part}


async def test_an_opt_out_cancels_queued_messages_of_every_month(
    session: AsyncSession, settings: Settings, sink: Sink
) -> None:
    s = configured(settings, portal_notify_url=sink.url)
    await invite(session, s, n=1)
    now = now_utc()
    await _back_to(session, _last_month(now))
    public_id = await session.scalar(text("SELECT public_id FROM invitations"))
    assert public_id is not None
    assert await repository.opt_out(session, public_id)
    [row] = await _rows(session)
    assert row.status == "failed"
    assert await run(session, s, now=now) == 0
    assert sink.received == []
