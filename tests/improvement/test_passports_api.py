"""Passports JSON API: import a version, list and detail with versions and deviations,
export (the same shape import takes), the scope filter, role gating and precise errors."""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.roles import Role
from tests.factories import create_user
from tests.improvement.conftest import World, as_user

URL = "/api/v1/passports"
BODY = {
    "steps": ["Запись", "Приём"],
    "actions": 2,
    "documents": ["Полис ОМС"],
    "term_days": 1,
    "channels": ["portal"],
    "fees": 0,
    "goals": [{"metric": "term_days", "op": "<=", "value": 1}],
}
TYPICAL = {
    "subject_kind": "service",
    "subject_code": "health.outpatient_visit",
    "doc": "target",
    "body": BODY,
}


async def test_import_list_detail_export_and_scope(
    client: AsyncClient, session: AsyncSession, world: World
) -> None:
    await as_user(client, world.analyst)
    made = await client.post(URL, json=TYPICAL)
    assert made.status_code == 201, made.text
    typical = made.json()
    assert (typical["version"], typical["status"], typical["region_code"]) == (1, "draft", None)
    assert typical["versions"] == [{"id": typical["id"], "version": 1, "status": "draft"}]
    # a second version: the next number; both listed in the detail
    again = (await client.post(URL, json=TYPICAL)).json()
    assert again["version"] == 2
    assert [v["version"] for v in again["versions"]] == [1, 2]

    # export gives the file import takes (round trip)
    exported = await client.get(f"{URL}/{typical['id']}/export")
    assert exported.headers["content-type"].startswith("application/json")
    assert "attachment" in exported.headers["content-disposition"]
    assert exported.json()["body"]["term_days"] == 1
    yaml_file = await client.get(f"{URL}/{typical['id']}/export", params={"format": "yaml"})
    assert yaml_file.headers["content-type"].startswith("application/yaml")
    assert "subject_code: health.outpatient_visit" in yaml_file.text

    # region 16's own target, imported by its participant from the exported file
    await as_user(client, world.owner)
    regional = {**exported.json(), "region_code": "16"}
    regional["body"] = {**regional["body"], "term_days": 3}
    made = await client.post(URL, json=regional)
    assert made.status_code == 201, made.text
    r16 = made.json()
    assert r16["region_code"] == "16"

    # the scope filter: region 77 sees the typical passports, not region 16's
    other = await create_user(session, Role.regional_authority, "region:77")
    await session.commit()
    await as_user(client, other)
    listed = (await client.get(URL)).json()
    ids = {i["id"] for i in listed["items"]}
    assert {typical["id"], again["id"]} <= ids
    assert r16["id"] not in ids
    hidden = await client.get(f"{URL}/{r16['id']}")
    assert hidden.status_code == 404
    assert "вне вашей области доступа" in hidden.json()["error"]["message"]
    assert (await client.get(f"{URL}/{r16['id']}/export")).status_code == 404
    # …region 16's organization sees it, filtered by region
    await as_user(client, world.owner)
    mine = (await client.get(URL, params={"region": "16"})).json()
    assert [i["id"] for i in mine["items"]] == [r16["id"]]
    assert mine["total"] == 1
    typ = (await client.get(URL, params={"region": "typical", "doc": "target"})).json()
    assert {typical["id"], again["id"]} <= {i["id"] for i in typ["items"]}
    assert all(i["region_code"] is None for i in typ["items"])


async def test_import_is_role_gated_and_precise(
    client: AsyncClient, session: AsyncSession, world: World
) -> None:
    reader = await create_user(session, Role.organization, f"organization:{world.org.ogrn}")
    await session.commit()
    await as_user(client, reader)
    refused = await client.post(URL, json=TYPICAL)
    assert refused.status_code == 403
    assert (await client.get(URL)).status_code == 200  # but reads
    await as_user(client, world.analyst)
    unknown = await client.post(URL, json={**TYPICAL, "subject_code": "no.such"})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "unknown_subject"
    assert "не найдена в реестре" in unknown.json()["error"]["message"]
    bad = await client.post(URL, json={**TYPICAL, "body": {"term_days": -1}})
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "bad_passport"
    assert "term_days" in bad.json()["error"]["message"]
    assert (await client.get(f"{URL}/999999999")).status_code == 404
