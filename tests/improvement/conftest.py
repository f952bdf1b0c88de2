"""Helpers: a change request owned by a participant of one organization, and signed-in clients."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.improvement.models import ChangeRequest
from otklik.improvement.service import create_change_request
from otklik.registry.models import Organization
from tests.factories import create_organization, create_user, login
from tests.outreach.conftest import smtp  # noqa: F401 - the local SMTP server fixture


@dataclass
class World:
    org: Organization
    owner: User
    analyst: User
    wg: User
    sc: User
    coordinator: User


@pytest.fixture
async def world(session: AsyncSession) -> World:
    org = await create_organization(session, region="16")
    w = World(
        org=org,
        owner=await create_user(session, Role.participant, f"organization:{org.ogrn}"),
        analyst=await create_user(session, Role.analyst),
        wg=await create_user(session, Role.wg_secretary),
        sc=await create_user(session, Role.subcommission_secretary),
        coordinator=await create_user(session, Role.coordinator),
    )
    await session.commit()
    return w


async def new_request(session: AsyncSession, owner: User, **kw: object) -> ChangeRequest:
    cr = await create_change_request(
        session,
        owner,
        subject_kind="service",
        subject_code="health.outpatient_visit",
        title=str(kw.get("title", "Запись к врачу без очереди")),
        problem="Долгое ожидание в регистратуре",
    )
    await session.commit()
    return cr


async def as_user(client: AsyncClient, user: User) -> AsyncClient:
    client.cookies.clear()
    assert await login(client, user.email) == 303
    return client
