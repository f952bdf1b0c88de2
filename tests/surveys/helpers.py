"""Invitations made and delivered by the real outreach services; their links derived."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.outreach.channels import enabled_channels
from otklik.outreach.links import link_token
from otklik.outreach.models import Invitation
from otklik.outreach.service import deliver, plan
from otklik.registry.models import Organization
from tests.factories import create_organization, service_record, snils
from tests.outreach.test_planning import VAULT, adult, send

ANSWERS = {
    "overall": "5",
    "organization": "4",
    "comfort": "3",
    "staff": "5",
    "information": "na",
    "disability": "no",
    "health_waiting": "2",
    "health_explained": "yes",
    "recommend": "yes",
    "comment": "Всё хорошо",
}


def child(ogrn: str, parents: int = 2) -> dict[str, Any]:
    return service_record(
        ogrn,
        recipient={"snils": snils(), "birth_date": "2016-01-01"},
        representatives=[
            {
                "snils": snils(),
                "relation": "parent",
                "portal_account_confirmed": True,
                "email": f"parent{n}@example.ru",
                "phone": f"+7900555000{n}",
            }
            for n in range(parents)
        ],
    )


async def invite(
    session: AsyncSession,
    settings: Settings,
    records: list[dict[str, Any]] | None = None,
    org: Organization | None = None,
) -> list[str]:
    """Links of the invitations made for ``records`` (default: one adult), delivered over log."""
    org = org or await create_organization(session)
    before = set(await session.scalars(select(Invitation.id)))
    await send(
        session,
        records
        or [
            service_record(
                org.ogrn,
                recipient=adult(snils(), email="person@example.ru", phone="+79001112233"),
            )
        ],
    )
    await plan(session, settings)
    async with httpx.AsyncClient() as client:
        await deliver(session, settings, vault=VAULT, channels=enabled_channels(settings, client))
    rows = (await session.scalars(select(Invitation).order_by(Invitation.id))).all()
    return [link_token(settings.secret_key, i.public_id) for i in rows if i.id not in before]


def form(**changes: str) -> dict[str, str]:
    data = {**ANSWERS, **changes}
    return {k: v for k, v in data.items() if v != ""}
