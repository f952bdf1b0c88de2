"""One definition of "delivered" across channels (docs/outreach.md): the answer rate over
invitations sent by the log channel, e-mail (accepted by a real SMTP server) and the portal
(confirmed by its callback) divides the answers by exactly the delivered invitations."""

from __future__ import annotations

import uuid
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.identity.roles import Role
from otklik.kit.clock import moscow_date
from otklik.outreach.models import Delivery
from otklik.outreach.service import delivery_status, plan
from otklik.registry.models import Organization
from tests.factories import create_organization, service_record, snils
from tests.indicators.factories import create_response
from tests.indicators.test_api import bearer
from tests.outreach.conftest import Mailbox, Sink
from tests.outreach.test_delivery import configured, run
from tests.outreach.test_planning import adult, send


async def _invite(session: AsyncSession, s: Settings, org: Organization, n: int) -> None:
    await send(
        session,
        [
            service_record(org.ogrn, recipient=adult(snils(), email="x@example.ru"))
            for _ in range(n)
        ],
    )
    await plan(session, s)
    assert await run(session, s) == n


async def _rate(client: AsyncClient, headers: dict[str, str], org: Organization) -> Any:
    resp = await client.get(
        "/api/v1/indicators",
        params={"unit": f"organization:{org.ogrn}", "period": moscow_date().strftime("%Y-%m")},
        headers=headers,
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_answer_rate_over_log_email_and_portal(
    session: AsyncSession,
    settings: Settings,
    sink: Sink,
    smtp: tuple[Mailbox, int],
    client: AsyncClient,
) -> None:
    _, port = smtp
    mixed = await create_organization(session)
    log_only = settings  # test mode: the log channel
    email = configured(settings, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")
    portal = configured(settings, portal_notify_url=sink.url)
    await _invite(session, log_only, mixed, 12)
    await _invite(session, email, mixed, 12)
    await _invite(session, portal, mixed, 12)
    by_channel: dict[str, list[str]] = {}
    for d in (await session.scalars(select(Delivery))).all():
        by_channel.setdefault(d.channel, []).append(d.status)
    assert {c: sorted(set(v)) for c, v in by_channel.items()} == {
        "log": ["delivered"],
        "email": ["delivered"],  # the SMTP server accepted them
        "portal": ["sent"],  # until the portal confirms
    }
    # the portal confirms half of its messages
    for key in sink.keys()[:6]:
        assert await delivery_status(session, portal, uuid.UUID(key), "delivered", "")
    for _ in range(15):
        await create_response(session, mixed, moscow_date())
    # e-mail alone: a rate, not null
    email_only = await create_organization(session)
    await _invite(session, email, email_only, 12)
    for _ in range(10):
        await create_response(session, email_only, moscow_date())
    await session.commit()
    headers = await bearer(session, Role.coordinator, "country")
    await session.commit()
    body = await _rate(client, headers, mixed)
    assert body["counts"]["invitations_delivered"] == 12 + 12 + 6
    assert body["response_rate"] == 50.0  # 15 answers / 30 delivered
    alone = await _rate(client, headers, email_only)
    assert alone["counts"]["invitations_delivered"] == 12
    assert alone["response_rate"] == round(100 * 10 / 12, 1)
    # the funnel counts the same delivered invitations
    funnel = await client.get(
        "/api/v1/outreach/funnel", params={"group": "organization"}, headers=headers
    )
    assert funnel.status_code == 200, funnel.text
    rows = {r["key"]: r for r in funnel.json()["rows"]}
    assert rows[mixed.ogrn]["delivered"] == 30
    assert rows[email_only.ogrn]["delivered"] == 12
