"""The OpenAPI document names its security and its error answers; API answers are not cached."""

from __future__ import annotations

from pathlib import Path

from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otklik.app import create_app
from otklik.config import Settings
from otklik.identity.roles import Role
from otklik.identity.service import create_api_token
from tests.factories import create_user


async def test_security_schemes_are_declared_and_attached(client: AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["personalToken"]["bearerFormat"] == "otk_…"
    assert schemes["sourceKey"]["bearerFormat"] == "otks_…"
    assert schemes["sessionCookie"] == {
        "type": "apiKey",
        "in": "cookie",
        "name": "otklik_session",
        "description": schemes["sessionCookie"]["description"],
    }
    assert "deliveryCallbackToken" in schemes
    operations = [
        (path, method, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if path.startswith("/api/")
    ]
    assert len(operations) >= 15
    for path, method, op in operations:
        assert op["security"], (path, method)
        for alternative in op["security"]:
            assert set(alternative) <= set(schemes), (path, method)
    paths = schema["paths"]
    assert paths["/api/v1/service-records"]["post"]["security"] == [{"sourceKey": []}]
    assert paths["/api/v1/outreach/delivery-status"]["post"]["security"] == [
        {"deliveryCallbackToken": []}
    ]
    assert paths["/api/v1/regions"]["get"]["security"] == [
        {"personalToken": []},
        {"sessionCookie": []},
    ]


async def test_error_answers_are_documented(client: AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    detail = paths["/api/v1/organizations/{ogrn}"]["get"]["responses"]
    assert {"400", "401", "404", "422"} <= set(detail)
    assert "403" not in detail  # any signed-in user reads the registry
    quality = paths["/api/v1/intake/quality"]["get"]["responses"]
    assert {"400", "401", "403", "422"} <= set(quality)
    intake = paths["/api/v1/service-records"]["post"]["responses"]
    assert {"400", "401", "413", "415", "429"} <= set(intake)
    me = paths["/api/v1/me"]["get"]["responses"]
    assert {"400", "401"} <= set(me)
    for answers in (detail, quality, intake, me):
        for status, answer in answers.items():
            if status.startswith(("4", "5")):
                content = answer["content"]["application/json"]["schema"]
                assert content == {"$ref": "#/components/schemas/ErrorOut"}, status


async def test_every_api_answer_is_no_store(session: AsyncSession, client: AsyncClient) -> None:
    user = await create_user(session, Role.coordinator)
    token = await create_api_token(session, user, "t")
    auth = {"Authorization": f"Bearer {token}"}
    for path, headers in (
        ("/api/v1/regions", auth),
        ("/api/v1/regions/XX", auth),  # 404
        ("/api/v1/me", {}),  # 401
        ("/api/v1/regions?per_page=0", auth),  # 422
    ):
        resp = await client.get(path, headers=headers)
        assert resp.headers["cache-control"] == "no-store", (path, resp.status_code)
    assert "strict-transport-security" not in resp.headers  # test mode: no HSTS


async def test_hsts_in_production_only(
    tmp_path: Path, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    for env, expected in (("production", True), ("demo", False)):
        settings = Settings(
            env=env,
            data_dir=tmp_path,
            secret_key="s" * 48,
            pii_key="k" * 48,
            delivery_callback_token="c" * 40,
        )
        app = create_app(settings)
        app.state.sessionmaker = sessionmaker
        transport = ASGITransport(app=app, raise_app_exceptions=False)
        async with AsyncClient(transport=transport, base_url="https://testserver") as c:
            resp = await c.get("/healthz")
        hsts = resp.headers.get("strict-transport-security")
        assert (hsts == "max-age=31536000; includeSubDomains") is expected, env
