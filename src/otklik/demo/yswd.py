"""Demo of «Вы сказали — мы сделали» for the demo clinic, after incidents and effects.

Its entries come from the real sources: the measured pilot that ran in the clinic (demo
effects), the clinic's incident that the job opened from its signals, closed here with a review
through the incident service, and one own entry that the clinic sends and the authority of its region
approves through the review service.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.audit import Actor
from otklik.identity.models import User
from otklik.identity.service import scope_of
from otklik.incidents import service as incidents
from otklik.incidents.models import Incident
from otklik.incidents.rules import OPEN
from otklik.kit.clock import moscow_date, now_utc
from otklik.kit.scope import Scope
from otklik.yswd import service
from otklik.yswd.models import YswdEntry


async def seed(session: AsyncSession) -> int:
    """Once; returns the number of approved own entries."""
    if await session.scalar(select(func.count()).select_from(YswdEntry)):
        return 0
    users = {u.email: u for u in await session.scalars(select(User))}
    clinic, authority = users.get("clinic@demo.otklik.ru"), users.get("authority@demo.otklik.ru")
    coordinator = users.get("mintrud@demo.otklik.ru")
    if clinic is None or clinic.scope_organization_id is None or authority is None:
        return 0
    now, today = now_utc(), moscow_date(now_utc())
    org_id = clinic.scope_organization_id
    if coordinator is not None:  # the clinic's incident from its own signals, resolved and closed
        incident = await session.scalar(
            select(Incident)
            .where(Incident.organization_id == org_id, Incident.state.in_(OPEN))
            .order_by(Incident.id)
            .limit(1)
        )
        if incident is not None:
            actor, scope = Actor(coordinator.id, coordinator.email), Scope.country()
            for action in ("acknowledge", "start", "resolve", "close"):
                await incidents.transition(session, scope, actor, now, incident.id, action, "демо")
            await incidents.write_review(
                session, scope, actor, now, incident.id,
                cause="Не хватало врачей на приёме в часы пик.",
                actions="Добавили вечерние часы приёма терапевтов и второе окно регистратуры.",
                change_needed=False,
            )  # fmt: skip
    entry = await service.submit(
        session, scope_of(clinic), Actor(clinic.id, clinic.email), today,
        topic="waiting", said="Долго ждать приёма у кабинета даже по записи.",
        done="Приём по записи идёт в назначенное время: расписание врачей пересмотрено,"
        " между приёмами оставлен резерв 5 минут.",
        done_on=today - timedelta(days=20),
    )  # fmt: skip
    await service.review(
        session, scope_of(authority), Actor(authority.id, authority.email), now, entry.id,
        approve=True,
    )  # fmt: skip
    return int(
        await session.scalar(
            select(func.count()).select_from(YswdEntry).where(YswdEntry.state == "approved")
        )
        or 0
    )
