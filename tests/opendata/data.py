"""Answers inserted set-based for open-data tests (the rollup triggers fill the rollup)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.indicators.tasks import drain
from otklik.registry.models import Organization
from tests.factories import create_organization
from tests.indicators.factories import QUESTIONNAIRE, ensure_questionnaire

ITEMS = ("overall", "organization", "comfort", "staff", "information", "accessibility")
QUARTER = "2026-Q3"
Q3_DAY = date(2026, 8, 14)


async def answers(session: AsyncSession, org: Organization, k: int, day: date = Q3_DAY) -> None:
    """``k`` questionnaires about ``org`` answered on ``day``, every item scored 1..5."""
    if k == 0:
        return
    await ensure_questionnaire(session)
    ids = (
        await session.execute(
            text(
                "INSERT INTO responses (id, questionnaire_version, organization_id, "
                "organization_type_code, region_code, founder_id, service_code, served_on, "
                "answered_on, channel, respondent, age_band, answers) "
                "SELECT gen_random_uuid(), :v, :oid, :type, :region, :founder, "
                "'health.outpatient_visit', :day, :day, 'portal', 'recipient', '30-39', '{}' "
                "FROM generate_series(1, :k) RETURNING id"
            ),
            {
                "v": QUESTIONNAIRE,
                "oid": org.id,
                "type": org.type_code,
                "region": org.region_code,
                "founder": org.founder_id,
                "day": day,
                "k": k,
            },
        )
    ).scalars()
    await session.execute(
        text(
            "INSERT INTO response_items (response_id, code, value, organization_id, answered_on) "
            "SELECT r, c, 1 + abs(hashtext(r::text || c)) % 5, :oid, :day "
            "FROM unnest(CAST(:ids AS uuid[])) r, unnest(CAST(:codes AS text[])) c"
        ),
        {"ids": list(ids), "codes": list(ITEMS), "oid": org.id, "day": day},
    )
    await drain(session)  # the worker's fold: the indicators count them


# (region, type, founder, answers in 2026-Q3): small cells, founders and types crossing
# regions, a region with only small organizations
POPULATION = [
    ("16", "med_outpatient", "r16-health", 30),
    ("16", "med_outpatient", "r16-health", 25),
    ("16", "med_outpatient", "r16-health", 3),
    ("16", "med_inpatient", "r16-health", 12),
    ("16", "med_inpatient", "minzdrav", 11),
    ("77", "med_outpatient", "r77-health", 40),
    ("77", "med_outpatient", "r77-health", 14),
    ("77", "med_outpatient", "r77-health", 5),
    ("77", "med_inpatient", "minzdrav", 9),
    ("77", "med_inpatient", "r77-health", 22),
    ("50", "med_outpatient", "r50-health", 4),
    ("50", "med_inpatient", "minzdrav", 13),
    ("50", "med_dental", "r50-health", 16),
]


async def populate(
    session: AsyncSession, rows: list[tuple[str, str, str, int]] = POPULATION
) -> dict[str, int]:
    """The organizations of ``rows`` with their answers; OGRN -> answers."""
    out = {}
    for region, type_code, founder, k in rows:
        org = await create_organization(
            session, region=region, type_code=type_code, founder=founder
        )
        org.address = f"г. Тест, ул. {region}-{k}"
        await answers(session, org, k)
        out[org.ogrn] = k
    await session.commit()
    return out
