"""The incident → change request link: one click after the review creates a linked request."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import ValidationFailed
from otklik.identity.models import User
from otklik.identity.service import scope_of
from otklik.improvement.service import create_change_request
from otklik.incidents import repository
from otklik.incidents.service import IncidentConflict, _load


async def create_change_request_for(
    session: AsyncSession, user: User, now: datetime, incident_id: int, service_code: str
) -> int:
    """A draft change request for the incident's service, with the incident as evidence."""
    incident = await _load(session, scope_of(user), incident_id)
    if incident.state != "closed" or incident.review is None:
        raise IncidentConflict(
            "Запрос на изменение создаётся после закрытия инцидента и его разбора."
        )
    if incident.change_request_id is not None:
        raise IncidentConflict(
            f"По инциденту уже создан запрос на изменение № {incident.change_request_id}.",
            code="already_linked",
        )
    if not service_code.strip():
        raise ValidationFailed("Выберите услугу, которую нужно изменить.", code="no_subject")
    cr = await create_change_request(
        session,
        user,
        subject_kind="service",
        subject_code=service_code.strip(),
        title=f"По итогам инцидента № {incident.id}: {incident.title}"[:300],
        problem=f"Причина: {incident.review['cause']}\nЧто сделано: {incident.review['actions']}",
        evidence=[("incident", str(incident.id))],
        organization_id=incident.organization_id,
        region_code=incident.region_code if incident.organization_id is None else None,
    )
    incident.change_request_id = cr.id
    await session.flush()
    await repository.add_event(
        session,
        incident_id=incident.id,
        at=now,
        kind="change_request",
        actor=user.email,
        comment=f"создан запрос на изменение № {cr.id}",
        data={"change_request_id": cr.id},
    )
    return cr.id
