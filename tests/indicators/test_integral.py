"""Respondent-level integrals: kept by triggers (any statement split), the integral's
interval, and the ranking's shrinkage towards the organization's type nationally."""

from __future__ import annotations

from datetime import date

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.roles import Role
from otklik.indicators.periods import parse_period
from otklik.indicators.tasks import drain, rebuild
from tests.factories import create_organization
from tests.indicators.factories import create_response, rollup_rows
from tests.indicators.test_api import bearer
from tests.indicators.test_cabinets import csv_rows, signed_in

DAY = date(2026, 11, 10)
INTEGRAL = "*integral"


async def _integral_rows(session: AsyncSession) -> dict[str, tuple[int, float, float]]:
    rows = await rollup_rows(session, date(2026, 1, 1), date(2026, 12, 31))
    return {r[0]: (r[4], r[-2], r[-1]) for r in rows if r[3] == INTEGRAL}


async def test_respondent_integrals_follow_split_inserts_and_deletes(
    session: AsyncSession,
) -> None:
    org = await create_organization(session)
    # organization 5, comfort 3 -> own integral 4; overall is not an integral item
    one = await create_response(session, org, DAY, {"overall": 1, "organization": 5})
    await create_response(session, org, DAY, {"staff": 2, "information": 3})  # 2.5
    # the second item of the first questionnaire arrives in a statement of its own
    await session.execute(
        text(
            "INSERT INTO response_items (response_id, code, value, organization_id, answered_on)"
            " VALUES (:r, 'comfort', 3, :o, :d)"
        ),
        {"r": one.id, "o": org.id, "d": DAY},
    )
    await drain(session)
    expected = (2, 4.0 + 2.5, 16.0 + 6.25)
    kept = await _integral_rows(session)
    assert kept["m"] == pytest.approx(expected)
    assert kept["y"] == pytest.approx(expected)
    # one item removed: the first questionnaire's integral becomes 3
    await session.execute(
        text("DELETE FROM response_items WHERE response_id = :r AND code = 'organization'"),
        {"r": one.id},
    )
    await drain(session)
    assert (await _integral_rows(session))["m"] == pytest.approx((2, 5.5, 15.25))
    period = parse_period("2026")
    before = await rollup_rows(session, period.start, period.end)
    await rebuild(session, period)
    assert await rollup_rows(session, period.start, period.end) == before


async def test_integral_interval_in_the_api(session: AsyncSession, client: AsyncClient) -> None:
    org = await create_organization(session)
    five = dict.fromkeys(("organization", "comfort", "staff", "information", "accessibility"), 5)
    for _ in range(10):
        await create_response(session, org, DAY, five)
    headers = await bearer(session, Role.coordinator)
    out = {}
    for period in ("2026-11", "2026-11-01..2026-11-30"):  # rollup and answers agree
        body = (
            await client.get(
                "/api/v1/indicators",
                params={"unit": f"organization:{org.ogrn}", "period": period},
                headers=headers,
            )
        ).json()
        out[period] = body["integral"]
    i = out["2026-11"]
    # ten respondents whose own integrals are all 5: not 5.00-5.00 (10 fives prove little)
    assert (i["value"], i["ci_high"]) == (5.0, 5.0)
    assert 4.0 < i["ci_low"] < 4.3
    assert out["2026-11-01..2026-11-30"] == i
    # the organization's page and its export show the same interval
    await signed_in(session, client, Role.coordinator)
    url = f"/cabinet/indicators/organization/{org.ogrn}"
    page = await client.get(url, params={"period": "2026-11"})
    assert "95\u00a0% ДИ 4,11–5,00" in page.text
    export = await client.get(url, params={"period": "2026-11", "export": "items"})
    row = next(r for r in csv_rows(export.content) if r and r[0] == "Интегральный индекс")
    assert row[2:5] == ["5.0", "4.11", "5.0"]


async def _responses(session: AsyncSession, org: object, pairs: list[tuple[int, int]]) -> None:
    for a, b in pairs:
        await create_response(session, org, DAY, {"organization": a, "comfort": b})  # type: ignore[arg-type]


async def test_shrinkage_towards_the_type_nationally(
    session: AsyncSession, client: AsyncClient
) -> None:
    a = await create_organization(session, region="58", founder="r58-health", name="А-клиника")
    b = await create_organization(session, region="16", name="Б-клиника")
    c = await create_organization(session, region="16", name="В-клиника")
    await _responses(session, a, [(5, 4)] * 10)  # integral 4.5; every respondent's own 4.5
    await _responses(session, b, [(4, 4)] * 5 + [(2, 2)] * 5)  # 3.0; own 4 or 2
    await _responses(session, c, [(5, 5)] * 10)  # 5.0
    # By hand, over the type in the whole country: mu = (4.5 + 3 + 5)/3 = 4.166667;
    # var_samp = 1.083333; sigma^2 (respondents' own integrals, pooled) = (0 + 10 + 0)/27
    # = 0.370370; tau^2 = 1.083333 - 0.370370 * 0.1 = 1.046296; A's sampling variance
    # 0.370370/10 = 0.037037; weight 1.046296/1.083333 = 0.965812;
    # A: 4.166667 + 0.965812 * 0.333333 = 4.488604 -> 4.49. (Towards A's type and region
    # alone it would keep 4.5; with sigma^2 of single ratings, 0.55/18-based, another value.)
    seen = []
    for role, scope in ((Role.regional_authority, "region:58"), (Role.coordinator, None)):
        await signed_in(session, client, role, scope)
        body = (
            await client.get(
                "/cabinet/indicators/organizations",
                params={"period": "2026-11", "export": "table"},
            )
        ).content
        rows = {r[1]: r for r in csv_rows(body) if len(r) > 5}
        seen.append(rows["А-клиника"][5:7])
    assert seen == [["4.5", "4.49"], ["4.5", "4.49"]]  # whoever looks
