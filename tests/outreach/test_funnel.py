"""The funnel counts every stage per service record, with reasons, inside the viewer's scope."""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.identity.roles import Role
from otklik.outreach.models import OutboxMessage
from otklik.outreach.service import plan
from tests.factories import create_organization, create_user, login, service_record, snils
from tests.outreach.test_delivery import run
from tests.outreach.test_planning import adult, send


async def test_funnel_stages_reasons_and_scope(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    mine = await create_organization(session)
    other = await create_organization(session, region="16", founder="r16-health")
    await send(
        session,
        [
            service_record(mine.ogrn, recipient=adult(snils())),
            service_record(mine.ogrn, recipient=adult(snils())),
            service_record(mine.ogrn, recipient=adult(snils(), portal=False)),
            service_record(other.ogrn, recipient=adult(snils())),
        ],
    )
    await plan(session, settings)
    await run(session, settings)
    link = (await session.scalars(select(OutboxMessage.link))).first()
    assert link is not None
    coordinator = await create_user(session, Role.coordinator)
    clinic = await create_user(session, Role.organization, scope=f"organization:{mine.ogrn}")
    await session.commit()
    await client.get(link.removeprefix(settings.base_url))  # one link opened

    await login(client, coordinator.email)
    data = (await client.get("/api/v1/outreach/funnel", params={"group": "organization"})).json()
    total = data["total"]
    assert (total["reported"], total["eligible"], total["invited"]) == (4, 3, 3)
    assert total["delivered"] == 3  # the log channel's outbox is its destination
    assert total["opened"] == 1
    assert total["skipped"]["no_confirmed_account"] == 1
    assert {r["key"] for r in data["rows"]} == {mine.ogrn, other.ogrn}
    page = await client.get("/outreach/funnel", params={"group": "region"})
    assert page.status_code == 200
    assert "нет подтверждённой учётной записи" in page.text

    client.cookies.clear()
    await login(client, clinic.email)
    data = (await client.get("/api/v1/outreach/funnel", params={"group": "organization"})).json()
    assert [r["key"] for r in data["rows"]] == [mine.ogrn]
    assert data["total"]["reported"] == 3
    assert (await client.get("/outreach/templates")).status_code == 403


async def test_templates_preview_for_the_coordinator(
    client: AsyncClient, session: AsyncSession
) -> None:
    coordinator = await create_user(session, Role.coordinator)
    await session.commit()
    await login(client, coordinator.email)
    page = await client.get("/outreach/templates")
    assert page.status_code == 200
    # sectors × (invitation, reminder, invitation to a child's representative) × channels
    assert page.text.count('<pre class="message">') == 4 * 3 * 3
    assert "Напоминание" in page.text
    assert "Ваш ребёнок недавно получил медицинскую помощь" in page.text
