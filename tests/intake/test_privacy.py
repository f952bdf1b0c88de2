"""Privacy at the door: no SNILS, e-mail or phone in any table or log line, in clear or hex."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography.exceptions import InvalidTag
from httpx import AsyncClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.intake.models import Contact
from otklik.intake.service import purge_expired_contacts
from otklik.kit.pii import PiiVault
from otklik.outreach.channels import enabled_channels
from otklik.outreach.service import deliver, plan
from tests.factories import create_organization, create_source, service_record

SNILS = "156-312-898 71"
EMAIL = "maria.secret@example.ru"
PHONE = "+79161234567"


def needles() -> list[str]:
    plain = [SNILS, SNILS.replace("-", "").replace(" ", ""), EMAIL, PHONE, PHONE[2:]]
    return plain + [p.encode().hex() for p in plain]


async def test_no_personal_data_in_any_table_or_log(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    org = await create_organization(session)
    _, key = await create_source(session)
    await session.commit()
    person = {
        "snils": SNILS,
        "birth_date": "1985-02-03",
        "email": EMAIL,
        "phone": PHONE,
        "portal_account_confirmed": True,
    }
    good = service_record(org.ogrn, recipient=person)
    rejected = service_record("1027700132195", recipient=person)  # unknown organization
    bad_phone = service_record(org.ogrn, recipient={**person, "phone": "+7916123456789"})
    child = service_record(
        org.ogrn,
        recipient={"snils": "112-233-445 95", "birth_date": "2015-01-01"},
        representatives=[{**person, "relation": "parent", "birth_date": "x"}],
    )
    headers = {"Authorization": f"Bearer {key}"}
    resp = await client.post(
        "/api/v1/service-records", json=[good, rejected, bad_phone, child], headers=headers
    )
    body = resp.json()
    assert body["accepted"] == 1
    assert body["rejected"] == 3
    again = await client.post("/api/v1/service-records", json=[good], headers=headers)
    assert again.json()["duplicates"] == 1
    # through outreach too: planned, sent on the log channel (the outbox keeps the message)
    assert await plan(session, settings) == 1
    async with httpx.AsyncClient() as http:
        channels = enabled_channels(settings, http)
        vault = PiiVault(settings.pii_key)
        assert await deliver(session, settings, vault=vault, channels=channels) == 1

    tables = (
        await session.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        )
    ).scalars()
    patterns = [f"%{n}%" for n in needles()]
    found = {}
    for table in tables:
        n = await session.scalar(
            text(f'SELECT count(*) FROM "{table}" t WHERE t::text LIKE ANY(:p)'),  # noqa: S608 - catalogue names
            {"p": patterns},
        )
        if n:
            found[table] = n
    assert found == {}
    assert not [n for n in needles() if n in caplog.text]
    assert all(n not in resp.text for n in needles())


async def test_sealed_contacts_open_only_with_the_key_and_expire(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    org = await create_organization(session)
    _, key = await create_source(session)
    await session.commit()
    record = service_record(
        org.ogrn, recipient={"snils": SNILS, "birth_date": "1985-02-03", "email": EMAIL}
    )
    await client.post(
        "/api/v1/service-records", json=[record], headers={"Authorization": f"Bearer {key}"}
    )
    contact = (await session.scalars(select(Contact))).one()
    opened = PiiVault("p" * 40).open(contact.sealed, contact.person_key)
    assert opened == {
        "snils": SNILS.replace("-", "").replace(" ", ""),
        "email": EMAIL,
        "phone": None,
    }
    with pytest.raises(InvalidTag):
        PiiVault("another key" * 4).open(contact.sealed, contact.person_key)
    assert contact.expires_at > datetime.now(UTC) + timedelta(days=44)
    contact.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    await session.flush()
    assert await purge_expired_contacts(session, settings) == 1
