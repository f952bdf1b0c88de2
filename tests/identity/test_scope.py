"""Every role sees only its scope: outside data is neither listed nor reachable by id."""

from __future__ import annotations

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.roles import Role
from otklik.identity.service import scope_of
from otklik.kit.pagination import PageParams
from otklik.registry import repository
from otklik.registry.models import Organization
from tests.factories import create_organization, create_user, login

# role → (scope spec builder, which of the three organizations it may see)
CASES = [
    (Role.organization, lambda o: f"organization:{o['mine'].ogrn}", {"mine"}),
    (Role.regional_authority, lambda o: "region:16", {"mine", "same_region"}),
    (Role.federal_authority, lambda o: "founder:minzdrav", {"federal"}),
    (Role.citizen, lambda o: None, set()),
    (Role.coordinator, lambda o: None, {"mine", "same_region", "federal"}),
    (Role.analyst, lambda o: "region:77", {"federal"}),
    (Role.is_operator, lambda o: "founder:minzdrav", {"federal"}),
    (Role.admin, lambda o: None, {"mine", "same_region", "federal"}),
]


async def _three(session: AsyncSession) -> dict[str, Organization]:
    return {
        "mine": await create_organization(session, region="16", name="Поликлиника Казани"),
        "same_region": await create_organization(
            session,
            region="16",
            type_code="edu_general",
            founder="r16-education",
            name="Школа Казани",
        ),
        "federal": await create_organization(
            session, region="77", founder="minzdrav", name="Федеральная клиника"
        ),
    }


@pytest.mark.parametrize(("role", "spec", "visible"), CASES, ids=[c[0].value for c in CASES])
async def test_repository_scope(session: AsyncSession, role: Role, spec, visible) -> None:  # type: ignore[no-untyped-def]
    orgs = await _three(session)
    user = await create_user(session, role, spec(orgs))
    scope = scope_of(user)
    page = await repository.list_organizations(session, scope, PageParams(per_page=200))
    listed = {o.ogrn for o in page.items}
    for key, org in orgs.items():
        assert (org.ogrn in listed) == (key in visible), key
        found = await repository.get_organization(session, scope, org.ogrn)
        assert (found is not None) == (key in visible), key


@pytest.mark.parametrize(("role", "spec", "visible"), CASES, ids=[c[0].value for c in CASES])
async def test_http_scope(
    session: AsyncSession,
    client: AsyncClient,
    role: Role,
    spec,
    visible,  # type: ignore[no-untyped-def]
) -> None:
    orgs = await _three(session)
    user = await create_user(session, role, spec(orgs))
    assert await login(client, user.email) == 303
    listed = (await client.get("/api/v1/organizations", params={"per_page": 200})).json()
    ogrns = {o["ogrn"] for o in listed["items"]}
    for key, org in orgs.items():
        assert (org.ogrn in ogrns) == (key in visible), key
        api = await client.get(f"/api/v1/organizations/{org.ogrn}")
        page = await client.get(f"/registry/organizations/{org.ogrn}")
        expected = 200 if key in visible else 404
        assert (api.status_code, page.status_code) == (expected, expected), key
    # an object that does not exist answers exactly like one outside the scope
    missing = await client.get("/api/v1/organizations/1000000000009")
    assert missing.status_code == 404


async def test_page_search_stays_in_scope(session: AsyncSession, client: AsyncClient) -> None:
    orgs = await _three(session)
    user = await create_user(session, Role.organization, f"organization:{orgs['mine'].ogrn}")
    await login(client, user.email)
    html = (await client.get("/registry/organizations", params={"q": "Федеральная"})).text
    assert "Федеральная клиника" not in html
    html = (await client.get("/registry/organizations", params={"q": "Казани"})).text
    assert "Поликлиника Казани" in html
    assert "Школа Казани" not in html
