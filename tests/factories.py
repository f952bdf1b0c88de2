"""Plain helpers that create test data through the real models and services."""

from __future__ import annotations

import itertools
import re

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.audit import Actor
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.identity.service import create_user as create_user_service
from otklik.registry.models import Founder, Organization
from otklik.registry.validators import inn_with_checksum, ogrn_with_checksum

PASSWORD = "correct horse battery"
_serial = itertools.count(1)


async def create_organization(
    session: AsyncSession,
    *,
    region: str = "77",
    type_code: str = "med_outpatient",
    founder: str | None = None,
    name: str | None = None,
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
