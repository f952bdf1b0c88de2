"""Effects of change requests: assess a released request, close it with the measured verdict."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.effects import repository, service
from otklik.effects.models import EffectAssessment
from otklik.errors import NotFound, ValidationFailed
from otklik.identity.audit import Actor
from otklik.identity.models import User
from otklik.identity.service import scope_of
from otklik.improvement import repository as cr_repository
from otklik.improvement.service import transition
from otklik.indicators.repository import MOSCOW


async def assess_change(
    session: AsyncSession, user: User, cr_id: int, today: date, now: datetime
) -> EffectAssessment:
    """Create (or refresh) the change request's assessment and compute it; a released request
    moves to ``effect_assessment``."""
    cr = await cr_repository.get(session, scope_of(user), cr_id)
    if cr is None:
        raise NotFound("Запрос на изменение не найден или вне вашей области доступа.")
    if cr.state not in ("released", "effect_assessment"):
        raise ValidationFailed(
            "Эффект оценивается после выпуска изменения (состояние «выпущено»).",
            code="not_released",
        )
    released = await repository.released_at(session, cr.id)
    assessment = await repository.for_change(session, scope_of(user), cr.id)
    if assessment is None:
        if not cr.hyp_indicator or cr.hyp_from is None or cr.hyp_to is None:
            raise ValidationFailed(
                "У запроса нет гипотезы: укажите показатель, исходное и ожидаемое значения.",
                code="no_hypothesis",
            )
        if cr.organization_id is not None:
            units = [cr.organization_id]
        else:
            units = await repository.units_for(session, cr.subject_code, cr.region_code)
        assessment = await service.create(
            session,
            Actor(user.id, user.email),
            title=cr.title,
            indicator=cr.hyp_indicator,
            direction=1 if cr.hyp_to > cr.hyp_from else -1,
            released_on=released.astimezone(MOSCOW).date() if released else None,
            organization_ids=units,
            change_request_id=cr.id,
        )
    await service.compute(session, assessment, today, now)
    if cr.state == "released":
        await transition(session, user, cr.id, "effect_assessment", "оценка эффекта рассчитана")
    return assessment


async def close_change(session: AsyncSession, user: User, cr_id: int, reason: str = "") -> str:
    """Close with the assessment's verdict; without one only with a recorded reason
    (then the outcome is "inconclusive")."""
    assessment = await repository.for_change(session, scope_of(user), cr_id)
    if assessment is not None and assessment.verdict != "pending":
        await transition(
            session, user, cr_id, "closed",
            f"эффект: {service.VERDICTS[assessment.verdict]}", outcome=assessment.verdict,
        )  # fmt: skip
        return assessment.verdict
    if not reason.strip():
        raise ValidationFailed(
            "Запрос закрывается только с оценкой эффекта или с указанной причиной, "
            "по которой эффект оценить нельзя.",
            code="assessment_required",
        )
    await transition(
        session, user, cr_id, "closed", f"эффект не оценён: {reason.strip()}",
        outcome="inconclusive",
    )  # fmt: skip
    return "inconclusive"
