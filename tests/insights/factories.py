"""Insert survey responses and comments straight into the surveys tables."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.registry.models import Organization
from otklik.surveys.models import QuestionnaireVersion, Response, ResponseComment, ResponseItem

VERSION = "test-ins"


async def _version(session: AsyncSession) -> None:
    if await session.get(QuestionnaireVersion, VERSION) is None:
        session.add(QuestionnaireVersion(version=VERSION, title="Тест", definition={}))
        await session.flush()


async def add_response(
    session: AsyncSession,
    org: Organization,
    overall: int | None,
    comment: str | None = None,
    *,
    day: date = date(2026, 11, 10),
    situation: str | None = None,
) -> uuid.UUID:
    """One response with an optional overall score and an optional (already masked) comment."""
    await _version(session)
    rid = uuid.uuid4()
    await session.execute(
        insert(Response).values(
            id=rid,
            questionnaire_version=VERSION,
            organization_id=org.id,
            organization_type_code=org.type_code,
            region_code=org.region_code,
            founder_id=org.founder_id,
            service_code="test",
            life_situation_code=situation,
            served_on=day,
            answered_on=day,
            channel="portal",
            respondent="recipient",
            age_band="30-39",
            answers={},
        )
    )
    if overall is not None:
        await session.execute(
            insert(ResponseItem).values(
                response_id=rid, code="overall", value=overall,
                organization_id=org.id, answered_on=day,
            )
        )  # fmt: skip
    if comment is not None:
        await session.execute(
            insert(ResponseComment).values(
                response_id=rid, code="comment", text=comment,
                organization_id=org.id, answered_on=day,
            )
        )  # fmt: skip
    return rid


async def org_by_id(session: AsyncSession, org_id: int) -> Organization:
    return (
        await session.execute(select(Organization).where(Organization.id == org_id))
    ).scalar_one()
