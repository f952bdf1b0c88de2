"""Plain helpers inserting anonymous responses (the respondent form is another domain)."""

from __future__ import annotations

import random
import uuid
from datetime import date
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.indicators.models import IndicatorRollup
from otklik.indicators.rollup import COUNT_COLUMNS
from otklik.indicators.tasks import drain
from otklik.registry.models import Organization
from otklik.surveys.models import Response, ResponseComment, ResponseItem

QUESTIONNAIRE = "test.1"


async def ensure_questionnaire(session: AsyncSession) -> None:
    await session.execute(
        text(
            "INSERT INTO questionnaire_versions (version, title, definition) "
            "VALUES (:v, 'Тест', '{}'::jsonb) ON CONFLICT DO NOTHING"
        ),
        {"v": QUESTIONNAIRE},
    )


async def create_response(
    session: AsyncSession,
    organization: Organization,
    answered_on: date,
    scores: dict[str, int] | None = None,
    comment: str | None = None,
    service_code: str = "health.outpatient_visit",
    life_situation_code: str | None = None,
    fold: bool = True,
    served_on: date | None = None,
) -> Response:
    """One completed questionnaire with numeric answers ``scores`` (code -> 0..5) about a
    service of ``served_on`` (default: the answer's day); then, unless ``fold`` is false, the
    indicator queue folded into the rollup as the worker would (the figures a test reads right
    after are those of the next fold). A questionnaire is never changed once stored (the
    queue's triggers see inserts and deletes only)."""
    await ensure_questionnaire(session)
    scores = {"overall": 5} if scores is None else scores
    r = Response(
        id=uuid.uuid4(),
        questionnaire_version=QUESTIONNAIRE,
        organization_id=organization.id,
        organization_type_code=organization.type_code,
        region_code=organization.region_code,
        founder_id=organization.founder_id,
        service_code=service_code,
        life_situation_code=life_situation_code,
        served_on=answered_on if served_on is None else served_on,
        answered_on=answered_on,
        channel="portal",
        respondent="recipient",
        age_band="30-39",
        answers=dict(scores),
    )
    session.add(r)
    await session.flush()
    session.add_all(
        ResponseItem(
            response_id=r.id,
            code=code,
            value=value,
            organization_id=organization.id,
            answered_on=answered_on,
        )
        for code, value in scores.items()
    )
    if comment is not None:
        session.add(
            ResponseComment(
                response_id=r.id,
                code="comment",
                text=comment,
                organization_id=organization.id,
                answered_on=answered_on,
            )
        )
    await session.flush()
    if fold:
        await drain(session)
    return r


async def create_responses(
    session: AsyncSession,
    organization: Organization,
    answered_on: date,
    values: list[int],
    code: str = "overall",
    **extra: int,
) -> None:
    """One response per value of ``code`` (other items fixed by ``extra``)."""
    for v in values:
        await create_response(session, organization, answered_on, {code: v, **extra})


async def rollup_rows(session: AsyncSession, start: date, end: date) -> list[tuple[Any, ...]]:
    """The rollup rows of the days, ordered (tests compare trigger-kept and rebuilt rows)."""
    d = IndicatorRollup
    stmt = (
        select(
            d.grain,
            d.day,
            d.organization_id,
            d.code,
            *(d.__table__.c[c] for c in COUNT_COLUMNS),
            d.isum,
            d.isumsq,
        )
        .where(d.day.between(start, end), d.n > 0)
        .order_by(d.grain, d.day, d.organization_id, d.code)
    )
    return [tuple(r) for r in (await session.execute(stmt)).all()]


async def forget_some(
    session: AsyncSession, rnd: random.Random, items: int, whole: int, code: str
) -> None:
    """Some answers go away again: item ``code`` of ``items`` random questionnaires, then
    ``whole`` random questionnaires; the deletions reach the rollup through the queue."""
    ids = list((await session.scalars(select(Response.id))).all())
    for rid in rnd.sample(ids, items):
        await session.execute(
            delete(ResponseItem).where(ResponseItem.response_id == rid, ResponseItem.code == code)
        )
    gone = rnd.sample(ids, whole)
    await session.execute(delete(ResponseItem).where(ResponseItem.response_id.in_(gone)))
    await session.execute(delete(Response).where(Response.id.in_(gone)))
    await drain(session)
