"""Electronic share against the trajectory: API shape, ordering, trajectory, scope."""

from __future__ import annotations

from datetime import date
from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.roles import Role
from otklik.mszu.shares import target_at
from otklik.mszu.statistics import ingest_statistics
from tests.factories import create_source, create_user, login


def _row(region: str, month: str, channel: str, n: int) -> dict[str, Any]:
    return {
        "service_code": "health.appointment_online",
        "region_code": region,
        "month": month,
        "channel": channel,
        "applications": n,
    }


def test_trajectory_is_linear_from_the_baseline_to_99_percent() -> None:
    points = {y: 0.5 + 0.49 * (y - 2025) / 5 for y in range(2025, 2031)}
    assert target_at(points, date(2025, 12, 1)) == 0.5
    assert abs(target_at(points, date(2028, 6, 1)) - (0.5 + 0.49 * 2.5 / 5)) < 1e-9
    assert target_at(points, date(2031, 3, 1)) == 0.99
    assert target_at(points, date(2024, 3, 1)) == 0.5


async def test_shares_api_puts_the_furthest_behind_first(
    client: AsyncClient, session: AsyncSession
) -> None:
    source, _ = await create_source(session)
    rows = [
        _row("16", "2025-05", "portal", 60),
        _row("16", "2025-05", "in_person", 40),
        _row("77", "2025-05", "portal", 70),
        _row("77", "2025-05", "proactive", 20),
        _row("77", "2025-05", "other", 10),
    ]
    result = await ingest_statistics(session, source.id, rows)
    assert result.accepted == 5
    user = await create_user(session, Role.coordinator)
    await session.commit()
    assert await login(client, user.email) == 303
    body = (await client.get("/api/v1/mszu/shares?unit=region&period=2025")).json()
    items = body["items"]
    assert [i["region"] for i in items] == ["16", "77"]
    assert items[0]["electronic_share"] == 0.6
    assert items[1]["proactive_share"] == 0.2
    assert items[1]["applications"] == 100
    # baseline = the country's 2025 share (150 of 200); at the end of 2025 the target equals it
    assert items[0]["target_share"] == 0.75
    service = (await client.get("/api/v1/mszu/shares?unit=service&period=2025-Q2")).json()
    assert service["items"][0]["service"] == "health.appointment_online"
    founder = (await client.get("/api/v1/mszu/shares?unit=founder&period=2025")).json()
    # no row states a founder: one row «учредитель не указан», nothing guessed from the sector
    assert [(i["founder"], i["applications"]) for i in founder["items"]] == [(None, 200)]
    bad = await client.get("/api/v1/mszu/shares?unit=planet")
    assert bad.status_code == 422
    page = await client.get("/mszu/shares?period=2025&unit=region")
    assert page.status_code == 200
    assert "Карта-плитка" in page.text
    xlsx = await client.get("/mszu/shares?period=2025&unit=region&export=table&fmt=xlsx")
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")


async def test_a_regional_user_sees_only_its_region(
    client: AsyncClient, session: AsyncSession
) -> None:
    source, _ = await create_source(session)
    await ingest_statistics(
        session, source.id, [_row("16", "2025-05", "portal", 5), _row("77", "2025-05", "portal", 5)]
    )
    user = await create_user(session, Role.regional_authority, scope="region:16")
    await session.commit()
    assert await login(client, user.email) == 303
    body = (await client.get("/api/v1/mszu/shares?unit=region&period=2025")).json()
    assert [i["region"] for i in body["items"]] == ["16"]


async def test_a_coordinator_uploads_a_trajectory(
    client: AsyncClient, session: AsyncSession
) -> None:
    from tests.factories import csrf_from

    user = await create_user(session, Role.coordinator)
    await session.commit()
    assert await login(client, user.email) == 303
    csrf = csrf_from((await client.get("/mszu/shares?period=2026")).text)
    bad = await client.post("/mszu/trajectory", data={"csrf_token": csrf, "points": "2027;120 %"})
    assert bad.status_code == 422
    assert "доля от 0 до 1" in bad.text
    ok = await client.post(
        "/mszu/trajectory", data={"csrf_token": csrf, "points": "2025;60 %\n2030;0,99"}
    )
    assert ok.status_code == 303
    body = (await client.get("/api/v1/mszu/shares?unit=country&period=2025")).json()
    assert body["trajectory"] == "загружена координатором"


async def test_the_founder_view_uses_the_founder_each_row_states(
    client: AsyncClient, session: AsyncSession
) -> None:
    """No approximation by sector and region: a row counts for the founder it names; rows
    without a founder form their own row, said on the page, and no founder's scope holds them."""
    source, _ = await create_source(session)
    rows = [
        {**_row("16", "2025-05", "portal", 5), "founder_code": "minzdrav"},
        {**_row("16", "2025-05", "in_person", 5), "founder_code": "minzdrav"},
        {**_row("16", "2025-05", "portal", 6), "founder_code": "r16-health"},
        _row("77", "2025-05", "portal", 3),  # the source does not know the founder
    ]
    result = await ingest_statistics(session, source.id, rows)
    assert result.accepted == 4, result.errors
    ministry = await create_user(session, Role.federal_authority, scope="founder:minzdrav")
    coordinator = await create_user(session, Role.coordinator)
    await session.commit()
    assert await login(client, ministry.email) == 303
    body = (await client.get("/api/v1/mszu/shares?unit=founder&period=2025")).json()
    assert [(i["founder"], i["applications"]) for i in body["items"]] == [("minzdrav", 10)]
    regions = (await client.get("/api/v1/mszu/shares?unit=region&period=2025")).json()
    assert [(i["region"], i["applications"]) for i in regions["items"]] == [("16", 10)]
    client.cookies.clear()
    assert await login(client, coordinator.email) == 303
    body = (await client.get("/api/v1/mszu/shares?unit=founder&period=2025")).json()
    got = [(i["founder"], i["applications"], i["electronic_share"]) for i in body["items"]]
    # furthest behind first (minzdrav 50 %, r16-health 100 %); the unstated row last
    assert got == [("minzdrav", 10, 0.5), ("r16-health", 6, 1.0), (None, 3, 1.0)]
    assert body["items"][-1]["name"] == "учредитель не указан"
    page = await client.get("/mszu/shares?unit=founder&period=2025")
    assert page.status_code == 200
    assert "Для 3 заявлений учредитель не указан" in page.text
