"""What a citizen sees of outreach: their questionnaires, and why a link is gone.

Opening a link and completing an answer (which uses up every link of the record) belong to
surveys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.kit.clock import now_utc
from otklik.outreach import repository
from otklik.outreach.links import link_token, link_url


@dataclass(frozen=True)
class MyQuestionnaire:
    organization: str
    service: str
    served_at: datetime
    state: str  # waiting, answered, expired, closed
    link: str | None
    expires_at: datetime


async def my_questionnaires(
    session: AsyncSession, settings: Settings, person_key: bytes | None
) -> list[MyQuestionnaire]:
    """A citizen's invitations: waiting ones carry their link (derived, never stored)."""
    if person_key is None:
        return []
    now = now_utc()
    out = []
    for inv, org, service_name, served_at in await repository.invitations_of_person(
        session, person_key
    ):
        if inv.completed_at is not None:
            state = "answered"
        elif inv.status == "used":
            state = "closed"
        elif inv.expires_at <= now:
            state = "expired"
        else:
            state = "waiting"
        link = (
            link_url(settings.base_url, link_token(settings.secret_key, inv.public_id))
            if state == "waiting"
            else None
        )
        out.append(MyQuestionnaire(org, service_name, served_at, state, link, inv.expires_at))
    return out


class LinkGone(Exception):
    """The link exists but can no longer be used (HTTP 410)."""

    def __init__(self, reason: str, invitation: Any = None) -> None:
        self.reason = reason  # answered (this link), used (another link of the record), expired
        self.invitation = invitation
        super().__init__(reason)
