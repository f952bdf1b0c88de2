"""Bulk answers for effect tests: one multi-row insert per call (the rollup triggers run)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.indicators.tasks import drain
from otklik.registry.models import Organization
from otklik.surveys.models import Response, ResponseItem
from tests.indicators.factories import QUESTIONNAIRE, ensure_questionnaire


async def answers(
    session: AsyncSession, org: Organization, day: date, values: list[int], code: str = "overall"
) -> None:
    await ensure_questionnaire(session)
    rows: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    for v in values:
        rid = uuid.uuid4()
        rows.append(
            {
                "id": rid,
                "questionnaire_version": QUESTIONNAIRE,
                "organization_id": org.id,
                "organization_type_code": org.type_code,
                "region_code": org.region_code,
                "founder_id": org.founder_id,
                "service_code": "health.outpatient_visit",
                "served_on": day,
                "answered_on": day,
                "channel": "portal",
                "respondent": "recipient",
                "age_band": "30-39",
                "answers": {code: v},
            }
        )
        items.append(
            {
                "response_id": rid,
                "code": code,
                "value": v,
                "organization_id": org.id,
                "answered_on": day,
            }
        )
    await session.execute(insert(Response), rows)
    await session.execute(insert(ResponseItem), items)
    await drain(session)  # into the rollup, as the worker's next fold would
