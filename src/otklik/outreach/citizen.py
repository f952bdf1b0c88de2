"""What a citizen sees of outreach: their questionnaires, a link opened, an answer completed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.outreach import repository
from otklik.outreach.links import link_token, link_url, token_hash


def now_utc() -> datetime:
    return datetime.now(UTC)


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

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


async def open_link(session: AsyncSession, token: str) -> Any:
    """The invitation behind a link, its first opening recorded; None for an unknown link.

    Opening does not use the link up; only a completed answer does (surveys).
    """
    if not 20 <= len(token) <= 64:
        return None
    found = await repository.invitation_by_token_hash(session, token_hash(token))
    if found is None:
        return None
    inv = found[0]
    if inv.completed_at is not None or inv.status == "used":
        raise LinkGone("answered")
    if inv.expires_at <= now_utc():
        raise LinkGone("expired")
    if inv.opened_at is None:
        inv.opened_at = now_utc()
        await session.flush()
    return found


async def complete(session: AsyncSession, invitation_id: int, now: datetime | None = None) -> bool:
    """Record a completed answer: it uses up every link of the same service record.

    One questionnaire per service record: False when this link or another one of the record
    was used already (the rows are locked, so two parents answering at once cannot both win).
    """
    now = now or now_utc()
    rows = await repository.lock_record_invitations(session, invitation_id)
    if not any(r.id == invitation_id for r in rows):
        return False
    if any(r.completed_at is not None or r.status == "used" for r in rows):
        return False
    await repository.use_up(session, [r.id for r in rows], invitation_id, now)
    return True
