"""API, table and export agree to the displayed digit at rounding boundaries (4.275, 4.495,
4.5), and the zone, target and status compare the value the user sees."""

from __future__ import annotations

from datetime import date

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.cabinets import exports, service
from otklik.cabinets.repository import Filters
from otklik.identity.roles import Role
from otklik.indicators import service as ind
from otklik.indicators.periods import parse_period
from tests.factories import create_organization, create_user
from tests.indicators.factories import create_responses
from tests.indicators.test_api import bearer

TODAY = date(2026, 12, 20)


async def test_boundaries_agree_everywhere(session: AsyncSession, client: AsyncClient) -> None:
    a = await create_organization(session, region="58", name="А")  # 4.275 -> 4,28
    await create_responses(session, a, date(2026, 11, 10), [5] * 11 + [4] * 29, code="staff")
    b = await create_organization(session, region="58", name="Б")  # last year 4.495 -> 4,50
    await create_responses(session, b, date(2025, 6, 10), [5] * 99 + [4] * 101, code="staff")
    await create_responses(session, b, date(2026, 11, 10), [5] * 5 + [4] * 5, code="staff")
    headers = await bearer(session, Role.regional_authority, "region:58")

    async def api(org_ogrn: str, **extra: str) -> dict:  # type: ignore[type-arg]
        params = {"unit": f"organization:{org_ogrn}", "period": "2026-11", **extra}
        resp = await client.get("/api/v1/indicators", params=params, headers=headers)
        assert resp.status_code == 200, resp.text
        return resp.json()  # type: ignore[no-any-return]

    body_a, body_b = await api(a.ogrn), await api(b.ogrn)
    assert body_a["integral"]["value"] == 4.28
    assert body_b["integral"]["value"] == 4.5
    assert "integral" in body_a["improvement_zone"]
    assert "integral" not in body_b["improvement_zone"]  # 4,50 is not below 4,5
    target_b = next(t for t in body_b["targets"] if t["code"] == "integral")
    assert (target_b["baseline"], target_b["status"]) == (4.5, "not_applicable")

    user = await create_user(session, Role.regional_authority, "region:58")
    m = await ind.methodology(session, None)
    table = await service.organization_table(
        session, user, parse_period("2026-11"), m, TODAY, Filters(), "name", 1
    )
    rows = {r["name"]: r for r in table.rows}
    assert rows["А"]["integral"] == 4.28
    assert (rows["Б"]["integral"], rows["Б"]["baseline"], rows["Б"]["status"]) == (
        4.5,
        4.5,
        "not_applicable",
    )
    below = await service.organization_table(
        session, user, parse_period("2026-11"), m, TODAY, Filters(status="below"), "name", 1
    )
    assert [r["name"] for r in below.rows] == ["А"]
    _, out = exports.table_rows(table.rows)
    assert {x[1]: x[5] for x in out} == {"А": 4.28, "Б": 4.5}

    region = await client.get(
        "/api/v1/indicators",
        params={"unit": "region:58", "period": "2026-11", "aggregation": "unweighted"},
        headers=headers,
    )
    assert region.status_code == 200, region.text
    unweighted = region.json()
    assert unweighted["aggregation"] == "unweighted"
    assert unweighted["integral"]["value"] == 4.39  # (4.28 + 4.50) / 2, the shown values
    regions = await service.regions(
        session, await create_user(session, Role.coordinator), parse_period("2026-11"), m, TODAY
    )
    assert next(r for r in regions if r["code"] == "58")["unweighted"] == 4.39
    refused = await client.get(
        "/api/v1/indicators",
        params={"unit": f"organization:{a.ogrn}", "period": "2026-11", "aggregation": "unweighted"},
        headers=headers,
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "bad_aggregation")
