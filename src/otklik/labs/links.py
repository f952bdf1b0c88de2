"""A lab finding creates a change request or joins an existing one as evidence."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import NotFound, ValidationFailed
from otklik.identity.models import User
from otklik.identity.service import scope_of
from otklik.improvement.service import create_change_request, link_evidence
from otklik.labs import repository
from otklik.labs.models import LabFinding


async def link_finding(
    session: AsyncSession,
    user: User,
    finding_id: int,
    *,
    change_request_id: int | None = None,
    service_code: str = "",
) -> int:
    """Join ``change_request_id`` when given, else create a draft request for the service."""
    finding = await session.get(LabFinding, finding_id)
    study = await repository.study(session, scope_of(user), finding.study_id) if finding else None
    if finding is None or study is None:
        raise NotFound("Находка не найдена или вне вашей области доступа.")
    if finding.change_request_id is not None:
        raise ValidationFailed(
            f"Находка уже связана с запросом № {finding.change_request_id}.", code="already_linked"
        )
    ref = str(finding.id)
    if change_request_id is not None:
        cr = await link_evidence(session, user, change_request_id, "lab_finding", ref)
    else:
        if not service_code.strip():
            raise ValidationFailed("Выберите услугу, которую нужно изменить.", code="no_subject")
        cr = await create_change_request(
            session,
            user,
            subject_kind="service",
            subject_code=service_code.strip(),
            title=f"Лаборатория: {finding.title}"[:300],
            problem=f"Находка исследования «{study.title}» (серьёзность {finding.severity}). "
            + finding.description,
            evidence=[("lab_finding", ref)],
            region_code=study.region_code,
        )
    finding.change_request_id = cr.id
    await session.flush()
    return cr.id
