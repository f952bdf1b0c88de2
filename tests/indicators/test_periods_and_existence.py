"""Issue 21, periods and existence: the cabinet keeps the period asked for; answers are
counted by answer date and by service date, each labelled; another organization's OGRN
answers like a missing one."""

from __future__ import annotations

from datetime import date

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.roles import Role
from tests.factories import create_organization
from tests.indicators.factories import create_response
from tests.indicators.test_api import bearer
from tests.indicators.test_cabinets import signed_in


async def test_the_cabinet_keeps_the_period_asked_for(
    session: AsyncSession, client: AsyncClient
) -> None:
    org = await create_organization(session)
    await signed_in(session, client, Role.organization, f"organization:{org.ogrn}")
    resp = await client.get("/cabinet/indicators", params={"period": "2026-12"})
    assert resp.status_code == 303
    assert resp.headers["location"] == f"/cabinet/indicators/organization/{org.ogrn}?period=2026-12"
    page = await client.get(resp.headers["location"])
    assert page.status_code == 200
    assert "2026-12" in page.text or "декабрь 2026" in page.text.lower()
    assert (
        await client.get("/cabinet/indicators", params={"period": "2026-13"})
    ).status_code == 400
    await signed_in(session, client, Role.coordinator, "country")
    resp = await client.get(
        "/cabinet/indicators", params={"period": "2026-Q4", "methodology": "2025.1"}
    )
    assert resp.headers["location"] == (
        "/cabinet/indicators/regions?period=2026-Q4&methodology=2025.1"
    )


async def test_answers_by_answer_date_and_by_service_date(
    session: AsyncSession, client: AsyncClient
) -> None:
    org = await create_organization(session, region="58")
    # 12 services in November answered in December, 11 services of December answered then
    for _ in range(12):
        await create_response(session, org, date(2026, 12, 2), served_on=date(2026, 11, 28))
    for _ in range(11):
        await create_response(session, org, date(2026, 12, 5))
    await session.flush()
    headers = await bearer(session, Role.organization, f"organization:{org.ogrn}")
    await session.commit()

    async def counts(period: str) -> dict[str, int | None]:
        resp = await client.get(
            "/api/v1/indicators",
            params={"unit": f"organization:{org.ogrn}", "period": period},
            headers=headers,
        )
        assert resp.status_code == 200, resp.text
        c = resp.json()["counts"]
        return {"by_answer": c["responses"], "by_service": c["responses_by_service_date"]}

    assert await counts("2026-11") == {"by_answer": 0, "by_service": 12}
    assert await counts("2026-12") == {"by_answer": 23, "by_service": 11}
    assert await counts("2026") == {"by_answer": 23, "by_service": 23}
    await signed_in(session, client, Role.organization, f"organization:{org.ogrn}")
    page = await client.get(f"/cabinet/indicators/organization/{org.ogrn}?period=2026-12")
    assert "Анкет заполнено (по дате ответа)" in page.text
    assert "Анкет об услугах периода (по дате услуги)" in page.text


async def test_another_organizations_ogrn_is_404_like_a_missing_one(
    session: AsyncSession, client: AsyncClient
) -> None:
    mine = await create_organization(session, region="16")
    other = await create_organization(session, region="77")
    missing = "1027700000009"
    await signed_in(session, client, Role.organization, f"organization:{mine.ogrn}")
    headers = await bearer(session, Role.organization, f"organization:{mine.ogrn}")
    await session.commit()
    for url, api in (
        ("/cabinet/indicators/organization/{}", False),
        ("/api/v1/indicators?period=2026&unit=organization:{}", True),
    ):
        got = []
        for ogrn in (other.ogrn, missing):
            resp = await client.get(url.format(ogrn), headers=headers if api else {})
            got.append((resp.status_code, resp.text.replace(ogrn, "OGRN")))
        assert got[0] == got[1], url
        assert got[0][0] == 404, url
