"""Batches: the portal's batch endpoint (a result per message) and one pipelined SMTP session
per worker batch, over real local servers."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.outreach.channels import BATCH_MAX, EmailChannel, Message, _Pipeline
from otklik.outreach.models import Delivery
from tests.factories import free_port
from tests.outreach.conftest import PipeliningMailbox, Sink
from tests.outreach.test_delivery import configured, invite, run


def portal(settings: Settings, sink: Sink, **changes: object) -> Settings:
    return configured(
        settings, portal_notify_url=sink.url, portal_batch_url=sink.batch_url, **changes
    )


async def statuses(session: AsyncSession) -> Counter[str]:
    session.expire_all()
    return Counter((await session.scalars(select(Delivery.status))).all())


async def test_a_batch_request_and_its_partial_failures_retried_exactly_once(
    session: AsyncSession, settings: Settings, sink: Sink
) -> None:
    s = portal(settings, sink)
    await invite(session, s, n=6)
    sink.retry_next = 2  # the portal takes four messages and asks for two again
    assert await run(session, s) == 6
    assert sink.batches == [6]  # one request for the whole batch
    assert len(sink.received) == 4
    assert await statuses(session) == {"sent": 4, "queued": 2}
    later = datetime.now(UTC) + timedelta(minutes=15)  # the backoff is over
    while await run(session, s, now=later):
        pass
    keys = Counter(sink.keys())
    assert len(keys) == 6
    assert set(keys.values()) == {1}  # each message reached it once
    assert sum(sink.batches) == 8  # the two retried once each, the four not again
    assert await statuses(session) == {"sent": 6}
    first = sink.received[0]
    assert first["snils"]
    assert first["link"].startswith(f"{s.base_url}/s/")


async def test_a_worker_dying_mid_batch_resends_the_batch_with_the_same_keys(
    session: AsyncSession, settings: Settings, sink: Sink
) -> None:
    s = portal(settings, sink)
    await invite(session, s, n=5)
    await session.commit()
    async with session.begin_nested() as doomed:
        await run(session, s)  # the batch goes out…
        await doomed.rollback()  # …and the worker dies before its commit
    assert await run(session, s) == 5  # claimed again, sent again with the same keys
    assert len(sink.received) == 10
    assert len(sink.unique()) == 5  # the portal answers "duplicate" and shows each once
    assert await run(session, s) == 0


async def test_a_failed_batch_request_fails_each_message_as_its_status_says(
    session: AsyncSession, settings: Settings, sink: Sink
) -> None:
    s = portal(settings, sink)
    await invite(session, s, n=3)
    sink.mode = "down"  # 503 for the whole request: every message retried later
    assert await run(session, s) == 3
    assert await statuses(session) == {"queued": 3}
    sink.mode = "reject"  # 400: permanent, no channel left (no e-mail or phone)
    assert await run(session, s, now=datetime.now(UTC) + timedelta(minutes=15)) == 3
    assert (await statuses(session))["failed"] >= 1
    assert sink.received == []


async def test_more_than_one_request_when_the_batch_is_larger_than_the_contract_allows(
    session: AsyncSession, settings: Settings, sink: Sink
) -> None:
    s = portal(settings, sink, delivery_batch=BATCH_MAX + 3)
    await invite(session, s, n=BATCH_MAX + 3)
    assert await run(session, s) == BATCH_MAX + 3
    assert sorted(sink.batches) == [3, BATCH_MAX]
    assert len(sink.unique()) == BATCH_MAX + 3


async def test_one_pipelined_smtp_session_per_batch(
    session: AsyncSession, settings: Settings, pipelining_smtp: tuple[PipeliningMailbox, int]
) -> None:
    box, port = pipelining_smtp
    s = configured(settings, smtp_host="127.0.0.1", smtp_port=port, smtp_from="otklik@example.ru")
    channel = EmailChannel(s)
    messages = [
        Message(
            uuid.uuid4(),
            "email",
            None,
            f"{name}@example.ru",
            None,
            "Оцените качество услуги",
            f"Текст письма {i}\n.строка с точкой\n",
            "https://otklik.test/s/x",
            html="<p>Текст</p>",
        )
        for i, name in enumerate(["anna", "boris", "refused-vera", "gleb", "refused-dan", "ira"])
    ]
    results = await channel.send_many(messages)
    assert [r.outcome for r in results] == [
        "sent",
        "sent",
        "permanent",
        "sent",
        "permanent",
        "sent",
    ]
    assert box.sessions == 1  # one SMTP session for the whole batch
    assert [m["To"] for m in box.messages] == [
        "anna@example.ru",
        "boris@example.ru",
        "gleb@example.ru",
        "ira@example.ru",
    ]
    body = box.messages[0].get_body(("plain",)).get_content()  # type: ignore[attr-defined]
    assert "\n.строка с точкой" in body  # dot-stuffing undone by the server: text intact


async def test_e_mail_batches_through_the_pipeline_are_delivered(
    session: AsyncSession, settings: Settings, pipelining_smtp: tuple[PipeliningMailbox, int]
) -> None:
    box, port = pipelining_smtp
    s = configured(settings, smtp_host="127.0.0.1", smtp_port=port, smtp_from="otklik@example.ru")
    for i in range(4):
        await invite(session, s, email=f"p{i}@example.ru")
    assert await run(session, s) == 4
    assert box.sessions == 1
    assert len(box.messages) == 4
    assert await statuses(session) == {"delivered": 4}


def _mails(names: list[str]) -> list[Message]:
    return [
        Message(
            uuid.uuid4(),
            "email",
            None,
            f"{name}@example.ru",
            None,
            "Оцените качество услуги",
            "Текст письма",
            "https://otklik.test/s/x",
        )
        for name in names
    ]


@pytest.mark.parametrize("security", ["auto", "none"])
async def test_the_worker_keeps_its_smtp_session_and_opens_another_when_the_server_drops_it(
    settings: Settings, security: str
) -> None:
    box = PipeliningMailbox()
    port = free_port()
    # the server closes a session idle for more than half a second (like an MTA's timeout)
    controller = Controller(box, hostname="127.0.0.1", port=port, timeout=0.5)
    controller.start()
    try:
        s = configured(
            settings,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_from="otklik@example.ru",
            smtp_security=security,
        )
        channel = EmailChannel(s, keep_open=True)
        assert [r.outcome for r in await channel.send_many(_mails(["a", "b"]))] == ["sent"] * 2
        # pipelined, also on a plain local relay ("none": no STARTTLS, so no EHLO of its own)
        assert isinstance(channel.session, _Pipeline)
        got = await channel.send_many(_mails(["c", "refused-d", "e"]))
        assert [r.outcome for r in got] == ["sent", "permanent", "sent"]
        assert box.sessions == 1  # the second batch went over the first batch's session
        await asyncio.sleep(1.5)  # the server drops the idle session
        assert [r.outcome for r in await channel.send_many(_mails(["f"]))] == ["sent"]
        assert box.sessions == 2  # noticed before sending, and a new one opened
        await channel.close()
        assert [m["To"] for m in box.messages] == [
            f"{n}@example.ru" for n in ("a", "b", "c", "e", "f")
        ]
    finally:
        controller.stop()
