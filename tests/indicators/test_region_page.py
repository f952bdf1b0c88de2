"""The page of a region (and of a founder) for its authority: own figures, worst first,
answer rate by type with residual suppression, participation against decree 882's 50 % rule."""

from __future__ import annotations

import io
from datetime import date

from httpx import AsyncClient
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.roles import Role
from otklik.indicators import regional
from otklik.indicators.methodology import Methodology
from otklik.indicators.periods import parse_period
from otklik.indicators.service import methodology
from otklik.kit.scope import Scope, ScopeKind
from otklik.registry.models import Organization
from tests.factories import create_organization, create_user, login
from tests.indicators.factories import create_response, create_responses

DAY = date(2026, 11, 10)
P = {"period": "2026-11"}


async def _answers(session: AsyncSession, org: Organization, n: int, v: int) -> None:
    scores = dict.fromkeys(("overall", "organization", "comfort", "staff"), v)
    for _ in range(n):
        await create_response(session, org, DAY, scores)


async def _m(session: AsyncSession) -> Methodology:
    return await methodology(session, None)


async def test_regional_authority_sees_its_own_region_worst_first(
    session: AsyncSession, client: AsyncClient
) -> None:
    good = await create_organization(session, region="16", name="Хорошая поликлиника")
    weak = await create_organization(session, region="16", name="Слабая поликлиника")
    await create_organization(session, region="16", name="Молчащая поликлиника")
    await create_organization(session, region="16", type_code="edu_preschool", name="Сад")
    away = await create_organization(session, region="77", name="Чужая поликлиника")
    await _answers(session, good, 12, 5)
    await _answers(session, weak, 10, 3)
    await _answers(session, away, 10, 1)
    user = await create_user(session, Role.regional_authority, "region:16")
    assert await login(client, user.email) == 303

    # the regions list no longer refuses: it leads to the authority's own region
    listing = await client.get("/cabinet/indicators/regions", params=P)
    assert listing.status_code == 303
    assert listing.headers["location"] == "/cabinet/indicators/region/16?period=2026-11"
    page = await client.get("/cabinet/indicators/region/16", params=P)
    assert page.status_code == 200, page.text[:500]
    text = page.text
    # the region's own pooled figures: (12 × 5 + 10 × 3) / 22 = 4.0909… → 4,09
    assert "4,09" in text
    assert "Чужая поликлиника" not in text
    # worst first: the weak clinic's row precedes the good one's; the silent one is last
    assert text.index("Слабая поликлиника") < text.index("Хорошая поликлиника")
    assert text.index("Хорошая поликлиника") < text.index("Молчащая поликлиника")
    # participation: 2 of 3 clinics answered (66,7 %, met); 0 of 1 kindergarten (flagged)
    assert "66,7\u00a0%" in text
    assert "Ниже 50\u00a0%: Дошкольная образовательная организация" in text
    # another region stays hidden, as a missing one; a founder's page is not a region's role
    assert (await client.get("/cabinet/indicators/region/77", params=P)).status_code == 404
    assert (await client.get("/cabinet/indicators/region/00", params=P)).status_code == 404
    founder = await client.get("/cabinet/indicators/founder/r16-health", params=P)
    assert founder.status_code == 403

    xlsx = await client.get(
        "/cabinet/indicators/region/16", params={**P, "export": "participation", "fmt": "xlsx"}
    )
    ws = load_workbook(io.BytesIO(xlsx.content)).active
    assert ws is not None
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    clinics = next(r for r in rows if r and str(r[0]).startswith("Медицинская организация"))
    assert clinics[1:6] == [3, 3, 2, 66.7, "нет"]
    table = await client.get(
        "/cabinet/indicators/region/16",
        params={**P, "export": "table", "fmt": "xlsx", "sort": "-integral"},
    )
    names = [
        r[1] for r in load_workbook(io.BytesIO(table.content)).active.iter_rows(values_only=True)
    ]  # type: ignore[union-attr]
    assert names.index("Хорошая поликлиника") < names.index("Слабая поликлиника")


async def test_founder_page_for_its_federal_authority(
    session: AsyncSession, client: AsyncClient
) -> None:
    mine = await create_organization(session, region="16", name="Своя")
    other = await create_organization(session, region="16", founder="r77-health", name="Другая")
    await create_responses(session, mine, DAY, [4] * 10)
    await create_responses(session, other, DAY, [2] * 10)
    user = await create_user(session, Role.federal_authority, "founder:r16-health")
    assert await login(client, user.email) == 303
    listing = await client.get("/cabinet/indicators/regions")
    assert listing.headers["location"] == "/cabinet/indicators/founder/r16-health"
    page = await client.get("/cabinet/indicators/founder/r16-health", params=P)
    assert page.status_code == 200
    assert "Своя" in page.text
    assert "Другая" not in page.text
    assert (await client.get("/cabinet/indicators/founder/r77-health")).status_code == 404
    assert (await client.get("/cabinet/indicators/region/16")).status_code == 403


async def test_answer_rate_by_type_hides_a_small_type_and_its_complement(
    session: AsyncSession,
) -> None:
    m = await _m(session)
    clinic = await create_organization(session, region="16")
    school = await create_organization(session, region="16", type_code="edu_preschool")
    await create_responses(session, clinic, DAY, [5] * 12)
    await create_responses(session, school, DAY, [5] * 3)
    region = Scope(ScopeKind.region, region_code="16")
    rates = {
        r.code: r for r in await regional.answer_rates(session, region, parse_period("2026-11"), m)
    }
    # 3 answers: hidden; then the clinics too, or 12 = total − 3 would give the 3 away
    assert rates["edu_preschool"].hidden
    assert rates["med_outpatient"].hidden
    assert rates["med_outpatient"].delivered is None
    # a third, larger type makes the hidden ones hold 15 ≥ 10: it stays shown
    third = await create_organization(session, region="16", type_code="edu_general")
    await create_responses(session, third, DAY, [5] * 20)
    rates = {
        r.code: r for r in await regional.answer_rates(session, region, parse_period("2026-11"), m)
    }
    assert rates["edu_preschool"].hidden
    assert rates["med_outpatient"].hidden
    assert not rates["edu_general"].hidden


async def test_participation_counts_records_or_answers_in_the_period(
    session: AsyncSession,
) -> None:
    a = await create_organization(session, region="16")
    await create_organization(session, region="16", participates_from=None)
    await create_responses(session, a, DAY, [5])
    region = Scope(ScopeKind.region, region_code="16")
    rows = await regional.participation(session, region, parse_period("2026-11"))
    clinic = next(r for r in rows if r.code == "med_outpatient")
    assert (clinic.organizations, clinic.listed, clinic.active) == (2, 1, 1)
    assert clinic.share == 50.0
    assert not clinic.below
    other = await regional.participation(session, region, parse_period("2026-10"))
    assert next(r for r in other if r.code == "med_outpatient").below
