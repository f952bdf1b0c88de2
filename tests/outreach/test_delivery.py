"""Sending over real local servers: success, 5xx and hangs (retry), 4xx (next channel),
a worker dying mid-batch, a channel down for an hour, callbacks, reminders, links."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from httpx import ASGITransport, AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otklik.app import create_app
from otklik.config import Settings
from otklik.identity.roles import Role
from otklik.outreach.channels import Channel, RateLimiter, enabled_channels
from otklik.outreach.models import Delivery, Invitation, OutboxMessage
from otklik.outreach.service import deliver, plan, queue_reminders
from tests.factories import create_organization, create_user, login, service_record, snils
from tests.outreach.conftest import Mailbox, Sink
from tests.outreach.test_planning import VAULT, adult, send, tomorrow_at

LATER = timedelta(hours=1)


def configured(settings: Settings, **changes: Any) -> Settings:
    # generous: a loaded CI machine may take seconds to answer; the hang test sets its own
    return settings.model_copy(update={"channel_timeout_seconds": 5.0, **changes})


async def run(session: AsyncSession, settings: Settings, now: datetime | None = None) -> int:
    async with httpx.AsyncClient(timeout=settings.channel_timeout_seconds) as client:
        channels: dict[str, Channel] = enabled_channels(settings, client)
        return await deliver(session, settings, vault=VAULT, channels=channels, now=now)


async def invite(session: AsyncSession, settings: Settings, n: int = 1, **person: Any) -> None:
    org = await create_organization(session)
    await send(
        session, [service_record(org.ogrn, recipient=adult(snils(), **person)) for _ in range(n)]
    )
    await plan(session, settings)


async def test_portal_delivery_link_and_opening(
    session: AsyncSession, settings: Settings, sink: Sink, client: AsyncClient
) -> None:
    s = configured(settings, portal_notify_url=sink.url)
    await invite(session, s)
    assert await run(session, s) == 1
    [got] = sink.received
    assert got["snils"]
    assert got["link"].startswith(f"{s.base_url}/s/")
    assert "Оцените качество услуги" in got["title"]
    invitation = (await session.scalars(select(Invitation))).one()
    assert invitation.status == "sent"
    assert invitation.reminder_at is not None
    await session.commit()
    path = got["link"].removeprefix(s.base_url)
    page = await client.get(path)
    assert page.status_code == 200
    assert "Оценка качества услуги" in page.text
    await session.refresh(invitation)
    assert invitation.opened_at is not None
    assert (await client.get(path)).status_code == 200  # opening does not use the link up
    assert (await client.get("/s/" + "A" * 32)).status_code == 404
    invitation.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    await session.commit()
    gone = await client.get(path)
    assert gone.status_code == 410
    assert "истёк" in gone.text


async def test_temporary_failures_retry_and_a_channel_down_for_an_hour(
    session: AsyncSession, settings: Settings, sink: Sink
) -> None:
    s = configured(settings, portal_notify_url=sink.url)
    await invite(session, s, n=3)
    sink.mode = "down"
    now = datetime.now(UTC)
    for minute in range(0, 60, 10):  # down for an hour: retried with backoff, never dropped
        await run(session, s, now=now + timedelta(minutes=minute))
    deliveries = (await session.scalars(select(Delivery).order_by(Delivery.id))).all()
    assert {d.status for d in deliveries} == {"queued"}
    assert all(d.attempts >= 3 and d.error == "HTTP 503" for d in deliveries)
    sink.mode = "ok"
    back = now + LATER + timedelta(minutes=15)
    # all three are due again: only the oldest is tried (a probe), the others wait for it
    assert await run(session, s, now=back) == 3
    assert len(sink.received) == 1
    one_at_a_time = s.model_copy(update={"delivery_batch": 1})
    assert [await run(session, one_at_a_time, now=back) for _ in range(3)] == [1, 1, 0]
    assert sink.keys() == [str(d.idempotency_key) for d in deliveries]  # oldest first


async def test_a_channel_that_answers_again_sends_its_whole_backlog_oldest_first(
    session: AsyncSession, settings: Settings, sink: Sink
) -> None:
    s = configured(settings, portal_notify_url=sink.url, delivery_batch=1)
    await invite(session, s, n=3)
    sink.mode = "down"
    now = datetime.now(UTC)
    for _ in range(3):
        await run(session, s, now=now)
    old, older, youngest = (await session.scalars(select(Delivery).order_by(Delivery.id))).all()
    back = now + LATER
    # backoffs end at different times: only the youngest message is due when the portal is back
    youngest.next_attempt_at = back
    old.next_attempt_at = older.next_attempt_at = back + timedelta(minutes=10)
    await session.flush()
    sink.mode = "ok"
    assert [await run(session, s, now=back) for _ in range(4)] == [1, 1, 1, 0]
    assert sink.keys() == [str(d.idempotency_key) for d in (youngest, old, older)]


async def test_a_hanging_channel_times_out_and_is_retried(
    session: AsyncSession, settings: Settings, sink: Sink
) -> None:
    s = configured(settings, portal_notify_url=sink.url, channel_timeout_seconds=0.5)
    await invite(session, s)
    sink.mode = "hang"
    await run(session, s)
    delivery = (await session.scalars(select(Delivery))).one()
    assert (delivery.status, delivery.error) == ("queued", "timeout")
    assert delivery.next_attempt_at > datetime.now(UTC)


async def test_permanent_failure_falls_back_to_email_then_sms(
    session: AsyncSession, settings: Settings, sink: Sink, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    s = configured(
        settings,
        portal_notify_url=sink.url,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_from="otklik@example.ru",
    )
    await invite(session, s, email="ivan@example.ru")
    sink.mode = "reject"
    await run(session, s)  # portal refuses: recorded, next channel queued
    await run(session, s)  # e-mail
    channels = [
        (d.channel, d.status)
        for d in (await session.scalars(select(Delivery).order_by(Delivery.id))).all()
    ]
    # an e-mail the SMTP server accepted counts as delivered (docs/outreach.md)
    assert channels == [("portal", "failed"), ("email", "delivered")]
    [mail] = box.messages
    assert mail["To"] == "ivan@example.ru"
    assert mail["Subject"] == "Оцените качество услуги"
    assert "/s/" in mail.get_body(("plain",)).get_content()  # type: ignore[attr-defined]


async def test_a_worker_dying_mid_batch_sends_nothing_twice(
    session: AsyncSession, settings: Settings, sink: Sink
) -> None:
    s = configured(settings, portal_notify_url=sink.url)
    await invite(session, s, n=5)
    await session.commit()
    async with session.begin_nested() as doomed:
        await run(session, s)  # messages go out…
        await doomed.rollback()  # …and the worker dies before its commit
    assert len(sink.received) == 5
    assert await run(session, s) == 5  # claimed again, sent again with the same keys
    assert len(sink.received) == 10
    assert len(sink.unique()) == 5  # a receiver honouring the key shows each message once
    assert await run(session, s) == 0


async def test_delivery_status_callbacks(
    session: AsyncSession,
    settings: Settings,
    sink: Sink,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    s = configured(
        settings,
        portal_notify_url=sink.url,
        sms_gateway_url=sink.url,
        delivery_callback_token="c" * 40,
    )
    await invite(session, s, n=2, phone="+79001112233")
    await run(session, s)
    await session.commit()
    first, second = sink.keys()
    app = create_app(s)
    app.state.sessionmaker = sessionmaker
    url = "/api/v1/outreach/delivery-status"
    auth = {"Authorization": "Bearer " + "c" * 40}
    delivered = {"idempotency_key": first, "status": "delivered"}
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.post(url, json=delivered)).status_code == 401
        assert (await c.post(url, json=delivered, headers=auth)).json() == {"ok": True}
        failed = {"idempotency_key": second, "status": "failed", "reason": "абонент недоступен"}
        assert (await c.post(url, json=failed, headers=auth)).status_code == 200
        unknown = {"idempotency_key": str(uuid.uuid4()), "status": "delivered"}
        assert (await c.post(url, json=unknown, headers=auth)).status_code == 404
        bad = {"idempotency_key": first, "status": "lost"}
        assert (await c.post(url, json=bad, headers=auth)).status_code == 422
    session.expire_all()
    by_key = {str(d.idempotency_key): d for d in (await session.scalars(select(Delivery))).all()}
    assert by_key[first].status == "delivered"
    assert by_key[second].status == "failed"
    invitation = await session.get(Invitation, by_key[first].invitation_id)
    assert invitation is not None
    assert invitation.delivered_at is not None
    assert invitation.status == "delivered"
    fallback = [d for d in by_key.values() if d.channel == "sms"]
    assert [(d.invitation_id, d.status) for d in fallback] == [
        (by_key[second].invitation_id, "queued")
    ]


async def test_one_reminder_after_three_days(
    session: AsyncSession, settings: Settings, sink: Sink
) -> None:
    s = configured(settings, portal_notify_url=sink.url)
    await invite(session, s)
    await run(session, s)
    invitation = (await session.scalars(select(Invitation))).one()
    invitation.reminder_at = datetime.now(UTC) - timedelta(minutes=1)
    await session.flush()
    assert await queue_reminders(session, s) == 1
    assert await queue_reminders(session, s) == 0  # only one
    reminder = (await session.scalars(select(Delivery).where(Delivery.kind == "reminder"))).one()
    await run(session, s, now=max(reminder.next_attempt_at, datetime.now(UTC)))
    assert "Напоминание" in sink.received[-1]["title"]
    assert sink.received[-1]["link"] == sink.received[0]["link"]  # the same personal link


async def test_log_channel_outbox_and_citizen_cabinet(
    session: AsyncSession, settings: Settings, client: AsyncClient
) -> None:
    person = snils()
    await invite(session, settings)  # someone else
    org = await create_organization(session, name="Поликлиника № 9")
    await send(session, [service_record(org.ogrn, recipient=adult(person))])
    await plan(session, settings)
    assert await run(session, settings) == 2  # demo/test: the log channel
    messages = (await session.scalars(select(OutboxMessage))).all()
    assert len(messages) == 2
    assert all("/s/" in m.link and m.link in m.body for m in messages)
    citizen = await create_user(session, Role.citizen)
    citizen.person_key = VAULT.person_key(person.replace("-", "").replace(" ", ""))
    await session.commit()
    anonymous = await client.get("/demo/outbox")
    assert anonymous.status_code == 303  # live personal links: the administrator only
    assert "Открыть анкету" not in anonymous.text
    admin = await create_user(session, Role.admin)
    await login(client, admin.email)
    outbox = await client.get("/demo/outbox")
    assert outbox.status_code == 200
    assert outbox.text.count("Открыть анкету") == 2
    await login(client, citizen.email)
    assert (await client.get("/demo/outbox")).status_code == 403
    cabinet = await client.get("/cabinet")
    assert "Поликлиника № 9" in cabinet.text
    assert "Заполнить анкету" in cabinet.text
    assert cabinet.text.count("Заполнить анкету") == 1  # only this citizen's


async def test_quiet_hours_hold_messages_and_reminders_until_the_local_morning(
    session: AsyncSession, settings: Settings, sink: Sink
) -> None:
    s = configured(settings, portal_notify_url=sink.url, quiet_hours_start=21, quiet_hours_end=9)
    org = await create_organization(session, region="25")  # Vladivostok, UTC+10
    await send(session, [service_record(org.ogrn, recipient=adult(snils()))])
    night = tomorrow_at(14)  # 00:00 local
    await plan(session, s, now=night)
    morning = night.replace(hour=23)  # 09:00 local
    assert await run(session, s, now=morning - timedelta(minutes=1)) == 0
    assert await run(session, s, now=morning) == 1
    # the reminder falls due at 09:00 local three days later; queued at 21:30 it waits
    evening = morning + timedelta(days=3, hours=12, minutes=30)
    assert await queue_reminders(session, s, now=evening) == 1
    reminder = (await session.scalars(select(Delivery).where(Delivery.kind == "reminder"))).one()
    assert reminder.next_attempt_at == morning + timedelta(days=4)
    # without quiet hours a reminder queued at night goes at once
    invitation = (await session.scalars(select(Invitation))).one()
    await session.delete(reminder)
    invitation.reminded_at = None
    await session.flush()
    assert await queue_reminders(session, settings, now=evening) == 1
    again = (await session.scalars(select(Delivery).where(Delivery.kind == "reminder"))).one()
    assert again.next_attempt_at == evening


async def test_per_channel_rate_limits(
    session: AsyncSession, settings: Settings, sink: Sink
) -> None:
    s = configured(settings, portal_notify_url=sink.url)
    await invite(session, s, n=6)
    limiter = RateLimiter(1000, {"portal": 20})  # portal: one message per 50 ms
    started = time.monotonic()
    async with httpx.AsyncClient() as client:
        channels = enabled_channels(s, client)
        sent = await deliver(session, s, vault=VAULT, channels=channels, limiter=limiter)
    assert sent == 6
    assert time.monotonic() - started >= 5 * 0.05  # a lower bound: the limit held
    assert limiter.intervals == {"portal": 0.05}
