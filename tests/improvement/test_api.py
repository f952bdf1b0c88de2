"""Change-request API: shapes, 200/409/403, scope, bad input."""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.roles import Role
from tests.factories import create_user
from tests.improvement.conftest import World, as_user, new_request

URL = "/api/v1/change-requests"


async def test_create_list_detail(client: AsyncClient, world: World) -> None:
    await as_user(client, world.owner)
    resp = await client.post(
        URL,
        json={
            "subject_kind": "service",
            "subject_code": "health.outpatient_visit",
            "title": "Онлайн-запись без звонка",
            "problem": "Не дозвониться в регистратуру",
            "hypothesis": {"indicator": "overall", "unit": "балл", "from": 3.9, "to": 4.3,
                           "by": "2026-09-30"},
            "evidence": [{"kind": "proposal", "ref": "письмо участника"}],
            "planned_release": "2026-06-01",
        },
    )  # fmt: skip
    assert resp.status_code == 201, resp.text
    cr = resp.json()
    assert cr["state"] == "draft"
    assert cr["hypothesis"]["from"] == 3.9
    assert cr["timeline"][0]["to_state"] == "draft"
    listed = (await client.get(URL, params={"state": "draft"})).json()
    ids = [i["id"] for i in listed["items"]]
    assert cr["id"] in ids
    item = next(i for i in listed["items"] if i["id"] == cr["id"])
    assert item["subject"] == {"kind": "service", "code": "health.outpatient_visit"}
    assert item["evidence"][0]["kind"] == "proposal"
    assert set(item) >= {"id", "title", "state", "subject", "owner", "hypothesis", "evidence",
                         "planned_release"}  # fmt: skip


async def test_transitions_200_409_403(
    client: AsyncClient, session: AsyncSession, world: World
) -> None:
    cr = await new_request(session, world.owner)
    await as_user(client, world.owner)
    tr = f"{URL}/{cr.id}/transitions"
    ok = await client.post(tr, json={"to": "submitted"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["state"] == "submitted"
    # out of order: submitted -> approved does not exist
    bad = await client.post(tr, json={"to": "approved"})
    assert bad.status_code == 409
    assert bad.json()["error"]["code"] == "transition_not_allowed"
    assert "невозможен" in bad.json()["error"]["message"]
    # the owner may not take it into expertise
    forbidden = await client.post(tr, json={"to": "expertise"})
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "role_not_allowed"
    # a stale version is a 409 too
    await as_user(client, world.analyst)
    stale = await client.post(tr, json={"to": "expertise", "version": 1})
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "stale_version"
    # a return needs a reason; nothing changes without one
    no_reason = await client.post(tr, json={"to": "returned"})
    assert no_reason.status_code == 422
    detail = (await client.get(f"{URL}/{cr.id}")).json()
    assert detail["state"] == "submitted"
    unknown = await client.post(tr, json={"to": "teleported"})
    assert unknown.status_code == 422


async def test_unknown_subject_and_role(client: AsyncClient, session: AsyncSession) -> None:
    wg = await create_user(session, Role.wg_secretary)
    participant = await create_user(session, Role.participant, "region:16")
    await session.commit()
    body = {"subject_kind": "service", "subject_code": "x.none", "title": "t", "problem": "p"}
    await as_user(client, participant)
    resp = await client.post(URL, json=body)
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "unknown_subject"
    assert "x.none" in resp.json()["error"]["message"]
    await as_user(client, wg)
    resp = await client.post(URL, json={**body, "subject_code": "health.outpatient_visit"})
    assert resp.status_code == 403
    bad_evidence = {**body, "subject_code": "health.outpatient_visit",
                    "evidence": [{"kind": "drop_signal", "ref": "999999"}]}  # fmt: skip
    await as_user(client, participant)
    resp = await client.post(URL, json=bad_evidence)
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "unknown_evidence"


async def test_scope_each_role_sees_its_own(
    client: AsyncClient, session: AsyncSession, world: World
) -> None:
    cr = await new_request(session, world.owner)
    other_region = await create_user(session, Role.participant, "region:77")
    own_region = await create_user(session, Role.regional_authority, "region:16")
    lab = await create_user(session, Role.lab, "region:77")
    await session.commit()
    for user, visible in (
        (other_region, False),
        (lab, False),
        (own_region, True),
        (world.coordinator, True),
        (world.sc, True),
    ):
        await as_user(client, user)
        resp = await client.get(f"{URL}/{cr.id}")
        assert resp.status_code == (200 if visible else 404), user.role
        ids = [i["id"] for i in (await client.get(URL)).json()["items"]]
        assert (cr.id in ids) == visible
    # a citizen has no access at all
    citizen_page = await client.get(URL, headers={"authorization": "Bearer nope"})
    assert citizen_page.status_code == 401
