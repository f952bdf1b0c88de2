"""Every periodic job, in one place: (name, interval in seconds, job)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.identity.service import purge_expired
from otklik.intake.service import purge_expired_contacts

Job = Callable[[AsyncSession, Settings], Awaitable[int]]

SCHEDULE: list[tuple[str, int, Job]] = [
    ("identity.purge_expired_sessions", 3600, purge_expired),
    ("intake.purge_expired_contacts", 3600, purge_expired_contacts),
]
