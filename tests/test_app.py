"""Error pages and JSON errors never leak internals."""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.roles import Role
from tests.factories import create_user, login


async def test_unknown_page_is_a_russian_404(client: AsyncClient) -> None:
    resp = await client.get("/no/such/page")
    assert resp.status_code == 404
    assert "Не найдено" in resp.text
    assert "Traceback" not in resp.text


async def test_api_errors_are_json(session: AsyncSession, client: AsyncClient) -> None:
    user = await create_user(session, Role.coordinator)
    await login(client, user.email)
    resp = await client.get("/api/v1/regions/XX")
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "not_found"
    resp = await client.get("/api/v1/regions", params={"per_page": 100000})
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "validation_failed"


async def test_bad_query_on_a_page_is_400_not_500(
    session: AsyncSession, client: AsyncClient
) -> None:
    user = await create_user(session, Role.coordinator)
    await login(client, user.email)
    resp = await client.get("/registry/organizations", params={"page": "abc"})
    assert resp.status_code == 400
    assert "Некорректные параметры" in resp.text
    assert user.email in resp.text  # the header still knows who is signed in


async def test_registry_lists_search_sort_paginate(
    session: AsyncSession, client: AsyncClient
) -> None:
    user = await create_user(session, Role.coordinator)
    await login(client, user.email)
    all_regions = (await client.get("/api/v1/regions", params={"per_page": 200})).json()
    assert all_regions["total"] == 89
    page2 = (
        await client.get("/api/v1/regions", params={"per_page": 10, "page": 2, "sort": "-code"})
    ).json()
    codes = [r["code"] for r in page2["items"]]
    assert len(codes) == 10
    assert codes == sorted(codes, reverse=True)
    found = (await client.get("/api/v1/regions", params={"q": "Татарстан"})).json()
    assert [r["code"] for r in found["items"]] == ["16"]
    html = (await client.get("/registry/regions", params={"q": "Татарстан"})).text
    assert "Республика Татарстан" in html
    assert "Найдено: 1" in html


async def test_security_headers(client: AsyncClient) -> None:
    resp = await client.get("/login")
    assert "default-src 'self'" in resp.headers["content-security-policy"]
    assert resp.headers["x-frame-options"] == "DENY"
    assert "httponly" in resp.headers["set-cookie"].lower()
