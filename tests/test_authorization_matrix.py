"""The authorization matrix, generated from the route table.

Every route of ``otklik.app.ROUTERS`` × every role of ``identity.roles`` (and no sign-in) × an
object inside the user's scope and one outside it → the expected status. A route missing from
``MATRIX`` fails the test, so a new route cannot ship without saying who may call it.

Each user's scope is built around the organization ``home`` (Moscow, founder r77-health); the
other organization ``away`` is in another region with another founder. Country-wide roles see
both; scoped roles get 404 for ``away`` on scoped routes, exactly as for a missing object.
"""

from __future__ import annotations

import re

from httpx import AsyncClient
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.app import ROUTERS
from otklik.identity.models import LoginAttempt
from otklik.identity.roles import INDICATOR_READERS, Role
from otklik.identity.service import create_api_token
from otklik.registry.models import Organization
from tests.authz_rules import DECREE_923, Rule
from tests.factories import create_organization, create_user, csrf_from

ANYONE = frozenset(Role)  # any signed-in user
PUBLIC = None  # no sign-in needed
ADMIN = frozenset({Role.admin})
IS_OPERATOR = frozenset({Role.is_operator})
QUALITY = frozenset({Role.coordinator, Role.analyst, Role.admin, Role.is_operator})
READERS = frozenset(INDICATOR_READERS)
TEXT_READERS = frozenset(
    {
        Role.organization,
        Role.regional_authority,
        Role.federal_authority,
        Role.coordinator,
        Role.analyst,
        Role.admin,
    }
)
CORRECTORS = frozenset({Role.organization, Role.coordinator, Role.admin})
TEMPLATES = frozenset({Role.coordinator, Role.analyst, Role.admin})
VERSIONS = frozenset({Role.coordinator, Role.admin})
LISTS = READERS - {Role.organization}
NO_UUID = "00000000-0000-0000-0000-000000000000"
TRIAGE = frozenset(
    {
        Role.organization,
        Role.regional_authority,
        Role.federal_authority,
        Role.coordinator,
        Role.admin,
    }
)
COUNTRY_LISTS = frozenset({Role.coordinator, Role.analyst, Role.wg_secretary, Role.admin})
AUTHORITIES = frozenset({Role.regional_authority, Role.federal_authority})
# the founders of ``home`` (region 77) and ``away`` (region 50), as the test creates them
FOUNDERS = {"77": "r77-health", "50": "r50-health"}


# (method, path) → rule. Statuses for allowed calls with a made-up object (a token, a version,
# a source) are the honest answer to that object: 404 when it does not exist.
MATRIX: dict[tuple[str, str], Rule] = {
    ("GET", "/"): Rule(PUBLIC, signed_in=303),  # to /cabinet
    ("GET", "/login"): Rule(PUBLIC),
    ("POST", "/login"): Rule(PUBLIC, ok=400),  # empty credentials
    ("POST", "/logout"): Rule(PUBLIC, ok=303),
    ("GET", "/healthz"): Rule(PUBLIC),
    ("GET", "/readyz"): Rule(PUBLIC),  # reports state, no data
    ("GET", "/metrics"): Rule(PUBLIC),  # by client address or token (the test client is local)
    ("GET", "/cabinet"): Rule(ANYONE),
    ("GET", "/cabinet/tokens"): Rule(ANYONE),
    ("POST", "/cabinet/tokens"): Rule(ANYONE),
    # another user's (or a missing) token: as if it did not exist
    ("POST", "/cabinet/tokens/{token_id}/revoke"): Rule(
        ANYONE, ok=404, params={"token_id": "999999999"}
    ),
    ("GET", "/admin/audit"): Rule(ADMIN),
    ("GET", "/admin/jobs"): Rule(ADMIN),
    ("GET", "/admin/users"): Rule(ADMIN),
    ("GET", "/registry"): Rule(ANYONE),
    ("GET", "/registry/regions"): Rule(ANYONE),
    ("GET", "/registry/regions/{code}"): Rule(ANYONE, params={"code": "77"}),
    ("GET", "/registry/founders"): Rule(ANYONE),
    ("GET", "/registry/founders/{code}"): Rule(ANYONE, params={"code": "r77-health"}),
    ("GET", "/registry/types"): Rule(ANYONE),
    ("GET", "/registry/types/{code}"): Rule(ANYONE, params={"code": "med_outpatient"}),
    ("GET", "/registry/organizations"): Rule(ANYONE),
    ("GET", "/registry/organizations/{ogrn}"): Rule(ANYONE, scoped="ogrn"),
    ("GET", "/registry/services"): Rule(ANYONE),
    ("GET", "/registry/services/{code}"): Rule(ANYONE, ok=404, params={"code": "none"}),
    ("GET", "/registry/life-situations"): Rule(ANYONE),
    ("GET", "/registry/life-situations/{code}"): Rule(ANYONE, ok=404, params={"code": "none"}),
    ("GET", "/api/v1/me"): Rule(ANYONE),
    ("GET", "/api/v1/regions"): Rule(ANYONE),
    ("GET", "/api/v1/regions/{code}"): Rule(ANYONE, params={"code": "77"}),
    ("GET", "/api/v1/founders"): Rule(ANYONE),
    ("GET", "/api/v1/founders/{code}"): Rule(ANYONE, params={"code": "r77-health"}),
    ("GET", "/api/v1/organization-types"): Rule(ANYONE),
    ("GET", "/api/v1/organizations"): Rule(ANYONE),
    ("GET", "/api/v1/organizations/{ogrn}"): Rule(ANYONE, scoped="ogrn"),
    ("GET", "/api/v1/services"): Rule(ANYONE),
    ("GET", "/api/v1/services/{code}"): Rule(ANYONE, ok=404, params={"code": "none"}),
    ("GET", "/api/v1/life-situations"): Rule(ANYONE),
    ("GET", "/api/v1/life-situations/{code}"): Rule(ANYONE, ok=404, params={"code": "none"}),
    # an information system's key, not a user: every user (and nobody) gets 401
    ("POST", "/api/v1/service-records"): Rule(frozenset(), ok=401),
    ("GET", "/api/v1/intake/quality"): Rule(QUALITY),
    ("GET", "/admin/sources"): Rule(ADMIN),
    ("POST", "/admin/sources"): Rule(ADMIN, ok=422),  # no name
    ("POST", "/admin/sources/{name}/rotate"): Rule(ADMIN, ok=404, params={"name": "none"}),
    ("POST", "/admin/sources/{name}/active"): Rule(ADMIN, ok=404, params={"name": "none"}),
    ("GET", "/intake/quality"): Rule(QUALITY),
    ("GET", "/intake/upload"): Rule(IS_OPERATOR),
    ("POST", "/intake/upload"): Rule(IS_OPERATOR, ok=400),  # no file
    ("GET", "/intake/upload/reports/{report_id}.xlsx"): Rule(
        IS_OPERATOR, ok=404, params={"report_id": "0" * 32}
    ),
    # the delivery channel's token, not a user
    ("POST", "/api/v1/outreach/delivery-status"): Rule(
        frozenset(), ok=401, json={"idempotency_key": NO_UUID, "status": "delivered"}
    ),
    ("GET", "/api/v1/outreach/funnel"): Rule(READERS),
    ("GET", "/outreach/funnel"): Rule(READERS),
    ("GET", "/outreach/templates"): Rule(TEMPLATES),
    ("GET", "/demo/outbox"): Rule(ADMIN),  # the demo mailbox: a signed-in administrator
    ("GET", "/s/{token}"): Rule(PUBLIC, ok=404, params={"token": "x" * 43}),
    ("POST", "/s/{token}"): Rule(PUBLIC, ok=404, params={"token": "x" * 43}),
    # the e-mail's opt-out link: a made-up token is no link
    ("GET", "/unsubscribe/{token}"): Rule(PUBLIC, ok=404, params={"token": "x" * 43}),
    ("POST", "/unsubscribe/{token}"): Rule(PUBLIC, ok=404, params={"token": "x" * 43}),
    ("GET", "/o/{ogrn}/you-said-we-did"): Rule(PUBLIC, ok=200, params={"ogrn": "HOME"}),
    ("GET", "/surveys/versions"): Rule(VERSIONS),
    ("POST", "/surveys/versions"): Rule(VERSIONS, ok=400),
    ("GET", "/surveys/versions/{version}"): Rule(VERSIONS, params={"version": "2025.1"}),
    ("POST", "/surveys/versions/{version}/publish"): Rule(
        VERSIONS, ok=404, params={"version": "1999.1"}
    ),
    ("GET", "/insights"): Rule(TEXT_READERS),
    ("GET", "/insights/organizations/{org_id}"): Rule(TEXT_READERS, scoped="org_id"),
    ("POST", "/insights/comments/{response_id}/{code}/topics"): Rule(
        CORRECTORS,
        ok=404,
        params={"response_id": "00000000-0000-0000-0000-000000000000", "code": "c"},
    ),
    ("GET", "/insights/triage"): Rule(TRIAGE),
    ("POST", "/insights/triage/{response_id}/{code}"): Rule(
        TRIAGE, ok=400, params={"response_id": NO_UUID, "code": "c"}
    ),
    ("GET", "/api/v1/indicators"): Rule(READERS, ok=422),  # no unit: see tests/indicators
    ("GET", "/cabinet/indicators"): Rule(READERS, ok=303),  # to the role's first page
    ("GET", "/cabinet/fix-first"): Rule(READERS),
    # another organization's OGRN answers 404 like a missing one (issue 21)
    ("GET", "/cabinet/indicators/organization/{ogrn}"): Rule(READERS, scoped="ogrn"),
    ("GET", "/cabinet/indicators/organizations"): Rule(LISTS),
    # an authority is led to its own region's or founder's page (issue 16)
    ("GET", "/cabinet/indicators/regions"): Rule(
        COUNTRY_LISTS | AUTHORITIES, by_role=dict.fromkeys(AUTHORITIES, 303)
    ),
    # a region or founder outside the scope answers 404, as a missing one
    ("GET", "/cabinet/indicators/region/{code}"): Rule(
        COUNTRY_LISTS | {Role.regional_authority}, scoped="region"
    ),
    # the analyst's region scope holds no founder as a whole
    ("GET", "/cabinet/indicators/founder/{code}"): Rule(
        COUNTRY_LISTS | {Role.federal_authority}, scoped="founder", by_role={Role.analyst: 404}
    ),
    **DECREE_923,  # improvement, roadmaps, incidents, effects, labs, МСЗУ, priorities, exchange
}

# The scope each role's user holds, around ``home``.
SCOPES: dict[Role, str | None] = {
    Role.citizen: None,
    Role.organization: "organization:HOME",
    Role.regional_authority: "region:77",
    Role.federal_authority: "founder:r77-health",
    Role.coordinator: "country",
    Role.analyst: "region:77",
    Role.wg_secretary: "country",
    Role.portal_operator: "country",
    Role.participant: "organization:HOME",
    Role.subcommission_secretary: "country",
    Role.lab: "region:77",
    Role.is_operator: "region:77",
    Role.admin: "country",
}


def routes() -> set[tuple[str, str]]:
    found = {("GET", "/healthz")}
    for router in ROUTERS:
        for route in router.routes:
            for method in getattr(route, "methods", ()) or ():
                if method != "HEAD":
                    found.add((method, route.path))  # type: ignore[attr-defined]
    return found


def expected(rule: Rule, role: Role | None, in_scope: bool, api: bool) -> int:
    if rule.roles is PUBLIC:
        return rule.signed_in if role is not None and rule.signed_in else rule.ok
    if role is None:
        return 401 if api else 303
    if role not in rule.roles:
        return rule.ok if rule.ok == 401 else 403
    if role in rule.by_role:
        return rule.by_role[role]
    if rule.scoped and SCOPES[role] is None:
        return 404  # a citizen's scope holds no organization
    if rule.scoped and not in_scope and SCOPES[role] != "country":
        return rule.out
    return rule.ok


def test_every_route_has_an_entry() -> None:
    assert routes() == set(MATRIX), "add the new route to MATRIX (or remove a stale entry)"


def _url(path: str, rule: Rule, org: Organization) -> str:
    values = {**rule.params, "ogrn": org.ogrn, "org_id": str(org.id)}
    if rule.scoped == "region":
        values["code"] = org.region_code
    elif rule.scoped == "founder":
        values["code"] = FOUNDERS[org.region_code]
    url = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)
    return url.replace("HOME", org.ogrn) + rule.query


async def test_authorization_matrix(session: AsyncSession, client: AsyncClient) -> None:
    home = await create_organization(session, region="77")
    away = await create_organization(session, region="50", founder="r50-health")
    await session.commit()
    failures: list[str] = []
    for role in (None, *Role):
        await session.execute(delete(LoginAttempt))  # one client signs in as every role
        client.cookies.clear()
        csrf = csrf_from((await client.get("/login")).text)
        if role is not None:
            scope = SCOPES[role]
            user = await create_user(
                session, role, scope.replace("HOME", home.ogrn) if scope else None
            )
            token = await create_api_token(session, user, "matrix")
            await session.commit()
            # browser session for pages, the personal token for the API
            resp = await client.post(
                "/login",
                data={"csrf_token": csrf, "email": user.email, "password": "correct horse battery"},
            )
            assert resp.status_code == 303, role
        # signing in and out last: they change who the client is
        last = {("POST", "/login"), ("POST", "/logout")}
        order = sorted(MATRIX, key=lambda key: (key in last, key))
        for method, path in order:
            rule = MATRIX[(method, path)]
            api = path.startswith("/api/")
            headers = {"Authorization": f"Bearer {token}"} if api and role is not None else {}
            objects = ((True, home), (False, away)) if rule.scoped else ((True, home),)
            for in_scope, org in objects:
                url = _url(path, rule, org)
                if method == "GET":
                    resp = await client.get(url, headers=headers)
                elif rule.json is not None:
                    resp = await client.post(url, json=rule.json, headers=headers)
                else:
                    resp = await client.post(
                        url, data={**rule.form, "csrf_token": csrf}, headers=headers
                    )
                want = expected(rule, role, in_scope, api)
                if resp.status_code != want:
                    where = "in scope" if in_scope else "out of scope"
                    failures.append(
                        f"{role} {method} {path} ({where}): {resp.status_code}, expected {want}"
                    )
    assert not failures, "\n".join(failures)
