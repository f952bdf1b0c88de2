"""Best practices: a confirmed change is adopted by another region as a linked change request."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.effects import practices
from otklik.effects.models import EffectAssessment
from otklik.errors import NotFound, ValidationFailed
from otklik.identity.roles import Role
from otklik.improvement.models import ChangeRequest
from tests.factories import create_user


async def _practice(session: AsyncSession, verdict: str = "confirmed") -> EffectAssessment:
    a = EffectAssessment(
        title="Онлайн-запись", indicator="overall", direction=1, released_on=date(2026, 6, 1),
        window_days=56, organization_ids=[1], region_code="16", estimate=0.3, ci_low=0.1,
        ci_high=0.5, verdict=verdict,
    )  # fmt: skip
    session.add(a)
    await session.flush()
    return a


async def test_adoption_creates_a_linked_request_and_counts(session: AsyncSession) -> None:
    practice = await _practice(session)
    adopter = await create_user(session, Role.participant, scope="region:77")
    cr_id = await practices.adopt(session, adopter, practice.id, "health.outpatient_visit", None)
    cr = (await session.scalars(select(ChangeRequest).where(ChangeRequest.id == cr_id))).one()
    assert cr.region_code == "77"
    assert cr.hyp_indicator == "overall"
    row = (await practices.library(session, "запись"))[0]
    assert (row.id, row.adoptions, row.measured) == (practice.id, 1, 0)
    local = await create_user(session, Role.participant, scope="region:16")
    with pytest.raises(ValidationFailed) as same:
        await practices.adopt(session, local, practice.id, "health.outpatient_visit", None)
    assert same.value.code == "same_region"
    weak = await _practice(session, "not_confirmed")
    with pytest.raises(NotFound):
        await practices.adopt(session, adopter, weak.id, "health.outpatient_visit", None)
