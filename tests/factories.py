"""Plain helpers that create test data through the real models and services."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.audit import Actor
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.identity.service import create_user as create_user_service
from otklik.intake.models import Source
from otklik.intake.service import create_source as create_source_service
from otklik.registry.models import Founder, Organization
from otklik.registry.validators import inn_with_checksum, ogrn_with_checksum, snils_with_checksum

PASSWORD = "correct horse battery"
_serial = itertools.count(1)


async def create_organization(
    session: AsyncSession,
    *,
    region: str = "77",
    type_code: str = "med_outpatient",
    founder: str | None = None,
    name: str | None = None,
    participates_from: date | None = date(2025, 6, 15),
    participates_to: date | None = None,
) -> Organization:
    n = next(_serial)
    founder_code = founder or f"r{region}-health"
    founder_id = await session.scalar(select(Founder.id).where(Founder.code == founder_code))
    assert founder_id is not None, founder_code
    org = Organization(
        ogrn=ogrn_with_checksum(f"1{n % 90 + 10:02d}{region}{n + 5000000:07d}"),
        inn=inn_with_checksum(f"{region}{n % 90 + 10:02d}{n + 50000:05d}"),
        full_name=name or f"Тестовая организация {n}",
        short_name=name or f"Тестовая {n}",
        type_code=type_code,
        region_code=region,
        founder_id=founder_id,
        address="",
        participates_from=participates_from,
        participates_to=participates_to,
    )
    session.add(org)
    await session.flush()
    return org


async def create_user(
    session: AsyncSession, role: Role, scope: str | None = None, email: str | None = None
) -> User:
    email = email or f"{role.value}-{next(_serial)}@example.test"
    return await create_user_service(
        session, Actor.system("test"), email=email, role=role, scope=scope, password=PASSWORD
    )


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


async def login(client: AsyncClient, email: str, password: str = PASSWORD) -> int:
    page = await client.get("/login")
    resp = await client.post(
        "/login",
        data={"csrf_token": csrf_from(page.text), "email": email, "password": password},
    )
    return resp.status_code


def snils(n: int | None = None) -> str:
    """A valid SNILS in the usual written form, unique per call unless ``n`` is given."""
    digits = snils_with_checksum(f"{(n if n is not None else next(_serial)) + 100_000_000:09d}")
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:9]} {digits[9:]}"


def service_record(ogrn: str, **changes: Any) -> dict[str, Any]:
    """A valid intake record for an adult, served two hours ago at organization ``ogrn``."""
    record: dict[str, Any] = {
        "record_id": f"T-{next(_serial)}",
        "organization_ogrn": ogrn,
        "service_code": "health.outpatient_visit",
        "served_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
        "recipient": {
            "snils": snils(),
            "birth_date": "1980-05-01",
            "portal_account_confirmed": True,
            "email": "a@example.ru",
            "phone": "+79001234567",
        },
    }
    record.update(changes)
    return record


async def create_source(session: AsyncSession, name: str | None = None) -> tuple[Source, str]:
    return await create_source_service(
        session, Actor.system("test"), name or f"src-{next(_serial)}"
    )


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
