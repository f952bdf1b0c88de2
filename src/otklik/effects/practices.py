"""Best practices (decree 923 §7е): a change whose effect is confirmed is a practice; another
region adopts it with one click as its own linked change request, measured again the same way."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.effects.models import EffectAssessment, PracticeAdoption
from otklik.errors import NotFound, ValidationFailed
from otklik.identity.models import User
from otklik.improvement.service import Hypothesis, create_change_request
from otklik.kit import fmt
from otklik.kit.pagination import like_pattern

LIBRARY = text(
    """
SELECT e.id, e.title, e.indicator, e.estimate, e.ci_low, e.ci_high, e.n_treated, e.n_control,
       e.released_on, e.region_code, e.data_date,
       count(a.id) AS adoptions,
       count(x.id) FILTER (WHERE x.verdict <> 'pending') AS measured,
       count(x.id) FILTER (WHERE x.verdict = 'confirmed') AS confirmed
FROM effect_assessments e
LEFT JOIN practice_adoptions a ON a.assessment_id = e.id
LEFT JOIN effect_assessments x ON x.change_request_id = a.change_request_id
WHERE e.verdict = 'confirmed' AND (CAST(:q AS text) IS NULL OR e.title ILIKE :q)
GROUP BY e.id ORDER BY e.estimate DESC NULLS LAST, e.id LIMIT 200
"""
)


async def library(session: AsyncSession, q: str) -> list[Any]:
    """Confirmed changes with their effect and how they replicated (adoptions, share confirmed)."""
    rows = await session.execute(LIBRARY, {"q": like_pattern(q) if q else None})
    return list(rows.all())


async def adopt(
    session: AsyncSession,
    user: User,
    assessment_id: int,
    service_code: str,
    region_code: str | None,
) -> int:
    """One click: a draft change request of the adopter's own region, linked to the practice."""
    practice = await session.get(EffectAssessment, assessment_id)
    if practice is None or practice.verdict != "confirmed":
        raise NotFound(
            "Практика не найдена: ею становится только изменение с подтверждённым эффектом."
        )
    region = user.scope_region_code or region_code
    if not region:
        raise ValidationFailed("Укажите регион, который перенимает практику.", code="no_region")
    if practice.region_code == region:
        raise ValidationFailed(
            "Практика уже действует в этом регионе: перенимают её другие регионы.",
            code="same_region",
        )
    base = Decimal("4.0")
    cr = await create_change_request(
        session,
        user,
        subject_kind="service",
        subject_code=service_code.strip(),
        title=f"Перенять практику: {practice.title}"[:300],
        problem=(
            f"Практика № {practice.id}: эффект {fmt.signed(practice.estimate)} балла "
            f"(95\u00a0% ДИ {fmt.signed(practice.ci_low)}…{fmt.signed(practice.ci_high)})."
            if practice.estimate is not None
            and practice.ci_low is not None
            and practice.ci_high is not None
            else f"Практика № {practice.id}."
        ),
        evidence=[("proposal", f"практика № {practice.id}")],
        hypothesis=Hypothesis(
            practice.indicator,
            "балл",
            base,
            base + Decimal(str(round(practice.estimate or 0.1, 2)))
            if (practice.estimate or 0) > 0
            else base + Decimal("0.1"),
            practice.released_on.replace(year=practice.released_on.year + 1),
        ),
        region_code=region,
    )
    session.add(
        PracticeAdoption(
            assessment_id=practice.id, region_code=region, change_request_id=cr.id,
            adopted_by=user.email,
        )
    )  # fmt: skip
    await session.flush()
    return cr.id
