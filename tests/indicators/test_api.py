"""The indicators API on a real database: figures, scope, bad input; the rollup's freshness."""

from __future__ import annotations

from datetime import date

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.roles import Role
from otklik.identity.service import create_api_token
from otklik.indicators.periods import parse_period
from otklik.indicators.tasks import rebuild
from otklik.registry.models import Organization
from tests.factories import create_organization, create_user
from tests.indicators.factories import create_response, create_responses, rollup_rows

DAY = date(2026, 11, 10)


async def bearer(session: AsyncSession, role: Role, scope: str | None = None) -> dict[str, str]:
    user = await create_user(session, role, scope)
    return {"Authorization": f"Bearer {await create_api_token(session, user, 't')}"}


async def _org_with_answers(session: AsyncSession) -> Organization:
    org = await create_organization(session, region="16")
    # overall 5,5,5,4,4,4,3,3,2,1 (golden: mean 3.6, CI 2.76-4.26, csat 60 %);
    # staff all 5; recommend yes 7 of 10
    for i, v in enumerate([5, 5, 5, 4, 4, 4, 3, 3, 2, 1]):
        await create_response(
            session, org, DAY, {"overall": v, "staff": 5, "recommend": int(i < 7)}
        )
    return org


async def test_organization_figures(session: AsyncSession, client: AsyncClient) -> None:
    org = await _org_with_answers(session)
    headers = await bearer(session, Role.organization, f"organization:{org.ogrn}")
    resp = await client.get(
        "/api/v1/indicators",
        params={"unit": f"organization:{org.ogrn}", "period": "2026-11"},
        headers=headers,
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["methodology"] == "2025.1"
    assert body["period"]["start"] == "2026-11-01"
    items = {i["code"]: i for i in body["items"]}
    o = items["overall"]
    assert (o["n"], o["mean"], o["ci_low"], o["ci_high"], o["csat"]) == (10, 3.6, 2.76, 4.26, 60.0)
    assert items["staff"]["mean"] == 5.0
    assert items["comfort"]["n"] == 0
    assert items["comfort"]["mean"] is None
    # integral: only staff is available among the integral items
    assert body["integral"] == {
        "value": 5.0,
        "ci_low": 4.11,  # ten respondents whose own integral is 5 (see test_statistics)
        "ci_high": 5.0,
        "items": ["staff"],
        "suppressed": False,
    }
    assert body["recommendation"]["value"] == 70.0
    assert body["counts"]["responses"] == 10
    assert "overall" in body["improvement_zone"]
    assert "staff" not in body["improvement_zone"]
    # no answers in 2025: no baseline for the targets
    assert {t["status"] for t in body["targets"]} == {"no_baseline"}


async def test_small_unit_is_suppressed(session: AsyncSession, client: AsyncClient) -> None:
    org = await create_organization(session)
    await create_responses(session, org, DAY, [5] * 9)
    headers = await bearer(session, Role.coordinator)
    body = (
        await client.get(
            "/api/v1/indicators",
            params={"unit": f"organization:{org.ogrn}", "period": "2026"},
            headers=headers,
        )
    ).json()
    overall = next(i for i in body["items"] if i["code"] == "overall")
    assert overall["suppressed"]
    assert overall["mean"] is None
    assert overall["n"] == 9
    assert body["integral"]["value"] is None
    assert body["recommendation"]["suppressed"]


async def test_targets_from_previous_year(session: AsyncSession, client: AsyncClient) -> None:
    org = await create_organization(session)
    # 2025: overall mean 4.0 (10 × 4) -> target 4.2 for 2026; 2026 so far: 4.3 -> met
    await create_responses(session, org, date(2025, 5, 1), [4] * 10)
    await create_responses(session, org, date(2026, 3, 1), [4] * 7 + [5] * 3)
    headers = await bearer(session, Role.coordinator)
    body = (
        await client.get(
            "/api/v1/indicators",
            params={"unit": f"organization:{org.ogrn}", "period": "2026"},
            headers=headers,
        )
    ).json()
    t = next(t for t in body["targets"] if t["code"] == "overall")
    assert (t["baseline"], t["target"], t["current"], t["status"]) == (4.0, 4.2, 4.3, "met")


async def test_region_pools_its_organizations(session: AsyncSession, client: AsyncClient) -> None:
    a = await create_organization(session, region="58", founder="r58-health")
    b = await create_organization(session, region="58", founder="r58-health")
    await create_responses(session, a, DAY, [5] * 10)  # mean 5
    await create_responses(session, b, DAY, [3] * 30)  # mean 3
    headers = await bearer(session, Role.regional_authority, "region:58")
    body = (
        await client.get(
            "/api/v1/indicators", params={"unit": "region:58", "period": "2026-11"}, headers=headers
        )
    ).json()
    overall = next(i for i in body["items"] if i["code"] == "overall")
    assert (overall["n"], overall["mean"]) == (40, 3.5)  # (50 + 90) / 40, respondent-weighted


async def test_service_unit_reads_answers(session: AsyncSession, client: AsyncClient) -> None:
    org = await create_organization(session)
    for v in [4] * 10:
        await create_response(session, org, DAY, {"overall": v}, service_code="health.checkup")
    await create_responses(session, org, DAY, [1] * 10)
    headers = await bearer(session, Role.coordinator)
    resp = await client.get(
        "/api/v1/indicators",
        params={"unit": "service:health.checkup", "period": "2026-11"},
        headers=headers,
    )
    assert resp.status_code == 200, resp.text
    overall = next(i for i in resp.json()["items"] if i["code"] == "overall")
    assert (overall["n"], overall["mean"]) == (10, 4.0)


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"unit": "planet:1", "period": "2026"}, 400, "bad_unit"),
        ({"unit": "organization", "period": "2026"}, 400, "bad_unit"),
        ({"unit": "country:RU", "period": "2026-13"}, 400, "bad_period"),
        ({"unit": "country:RU", "period": "2026-11-30..2026-11-01"}, 400, "period_backwards"),
        ({"unit": "country:RU", "period": "2019-01-01..2026-01-01"}, 400, "period_too_long"),
        ({"unit": "country:RU", "period": "когда-нибудь"}, 400, "bad_period"),
        ({"unit": "region:99", "period": "2026"}, 404, "unit_not_found"),
        ({"unit": "organization:1111111111111", "period": "2026"}, 404, "unit_not_found"),
        (
            {"unit": "country:RU", "period": "2026", "methodology": "1999.9"},
            404,
            "methodology_not_found",
        ),
        ({"unit": "country:RU"}, 422, "validation_failed"),
    ],
)
async def test_bad_input(
    session: AsyncSession, client: AsyncClient, params: dict[str, str], status: int, code: str
) -> None:
    headers = await bearer(session, Role.coordinator)
    resp = await client.get("/api/v1/indicators", params=params, headers=headers)
    assert resp.status_code == status, resp.text
    assert resp.json()["error"]["code"] == code
    assert resp.json()["error"]["message"]


async def test_scope(session: AsyncSession, client: AsyncClient) -> None:
    mine = await create_organization(session, region="16")
    other = await create_organization(session, region="77")
    org_h = await bearer(session, Role.organization, f"organization:{mine.ogrn}")
    reg_h = await bearer(session, Role.regional_authority, "region:16")
    cit_h = await bearer(session, Role.citizen)
    cases = [
        (org_h, f"organization:{mine.ogrn}", 200),
        (org_h, f"organization:{other.ogrn}", 404),  # like a missing one (issue 21)
        (org_h, "region:16", 403),
        (org_h, "country:RU", 403),
        (reg_h, f"organization:{mine.ogrn}", 200),
        (reg_h, f"organization:{other.ogrn}", 404),
        (reg_h, "region:16", 200),
        (reg_h, "region:77", 403),
        (cit_h, "country:RU", 403),
        ({}, "country:RU", 401),
    ]
    for headers, unit, status in cases:
        resp = await client.get(
            "/api/v1/indicators", params={"unit": unit, "period": "2026"}, headers=headers
        )
        assert resp.status_code == status, (unit, resp.text)
    # another organization's OGRN and a missing one: the same answer, apart from the OGRN
    missing = "1027700000009"
    answers = []
    for ogrn in (other.ogrn, missing):
        resp = await client.get(
            "/api/v1/indicators",
            params={"unit": f"organization:{ogrn}", "period": "2026"},
            headers=org_h,
        )
        answers.append((resp.status_code, resp.text.replace(ogrn, "OGRN")))
    assert answers[0] == answers[1]
    assert answers[0][0] == 404


async def test_trigger_rollup_equals_rebuild(session: AsyncSession) -> None:
    a = await create_organization(session)
    b = await create_organization(session)
    await create_response(session, a, DAY, {"overall": 5, "staff": 4, "recommend": 1})
    await create_response(session, a, DAY, {"overall": 2, "recommend": 0})
    await create_response(session, b, date(2026, 11, 11), {"overall": 3, "comfort": 1})
    period = parse_period("2026")
    kept = await rollup_rows(session, period.start, period.end)
    # per grain (month, year) a: *, *served, overall, staff, recommend, *integral (one
    # respondent answered staff); b: *, *served, overall, comfort, *integral
    assert len(kept) == 2 * 11
    assert await rebuild(session, period) == len(kept)
    assert await rollup_rows(session, period.start, period.end) == kept


async def test_new_answer_is_visible_at_once(session: AsyncSession, client: AsyncClient) -> None:
    org = await create_organization(session)
    await create_responses(session, org, DAY, [4] * 10)
    headers = await bearer(session, Role.coordinator)
    params = {"unit": f"organization:{org.ogrn}", "period": "2026-11"}
    first = (await client.get("/api/v1/indicators", params=params, headers=headers)).json()
    await create_response(session, org, DAY, {"overall": 1})
    second = (await client.get("/api/v1/indicators", params=params, headers=headers)).json()
    assert (first["counts"]["responses"], second["counts"]["responses"]) == (10, 11)


async def test_custom_range_reads_answers_and_agrees(
    session: AsyncSession, client: AsyncClient
) -> None:
    org = await _org_with_answers(session)  # all on 2026-11-10
    await create_responses(session, org, date(2026, 11, 20), [1] * 10)
    headers = await bearer(session, Role.coordinator)

    async def overall(period: str) -> tuple[int, float | None]:
        body = (
            await client.get(
                "/api/v1/indicators",
                params={"unit": f"organization:{org.ogrn}", "period": period},
                headers=headers,
            )
        ).json()
        item = next(i for i in body["items"] if i["code"] == "overall")
        return item["n"], item["mean"]

    # the month from the rollup equals the same days read from the answers
    assert await overall("2026-11") == await overall("2026-11-01..2026-11-30") == (20, 2.3)
    assert await overall("2026-11-01..2026-11-15") == (10, 3.6)
