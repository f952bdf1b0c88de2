"""Roadmap API over real HTTP: the documented shape, scope, roles, conflicts, bad input."""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.identity.service import create_api_token
from otklik.improvement.service import create_change_request
from otklik.roadmaps import risk
from tests.factories import create_user

from .factories import NOW, SERVICE, TODAY, People, active, payload


async def _auth(session: AsyncSession, user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {await create_api_token(session, user, 't')}"}


async def test_detail_has_baseline_forecast_progress_and_risk(
    client: AsyncClient, session: AsyncSession
) -> None:
    p = await People(session).make()
    roadmap = await active(session, p)
    await risk.recompute(session, NOW, TODAY)
    resp = await client.get(f"/api/v1/roadmaps/{roadmap.id}", headers=await _auth(session, p.owner))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["state"] == "active"
    assert 0 <= body["risk"] <= 1
    assert body["risk_reasons"][0].startswith("критический путь: 3 мероприятия")
    first = body["measures"][0]
    assert set(first) >= {"baseline_due", "forecast_due", "progress", "risk", "risk_reasons"}
    assert first["baseline_due"] == first["planned_due"]
    assert isinstance(first["risk_reasons"], list)
    assert first["risk"] > 0.9  # due ten days ago with nothing done
    assert any("срок истёк" in r for r in first["risk_reasons"])
    assert [e["kind"] for e in body["timeline"]][:2] == ["created", "transition"]
    listed = await client.get("/api/v1/roadmaps?risk=high", headers=await _auth(session, p.owner))
    assert roadmap.id in [i["id"] for i in listed.json()["items"]]


async def test_scope_roles_and_conflicts(client: AsyncClient, session: AsyncSession) -> None:
    p = await People(session).make()
    owner = await _auth(session, p.owner)
    created = await client.post("/api/v1/roadmaps", json=payload(p.owner.email), headers=owner)
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    stranger = await create_user(session, Role.participant, "region:77")
    resp = await client.get(f"/api/v1/roadmaps/{rid}", headers=await _auth(session, stranger))
    assert resp.status_code == 404
    listed = await client.get("/api/v1/roadmaps", headers=await _auth(session, stranger))
    assert rid not in [i["id"] for i in listed.json()["items"]]
    citizen_like = await create_user(session, Role.is_operator, "country")
    resp = await client.get(f"/api/v1/roadmaps/{rid}", headers=await _auth(session, citizen_like))
    assert resp.status_code == 403
    url = f"/api/v1/roadmaps/{rid}/transitions"
    resp = await client.post(url, json={"to": "wg_approved"}, headers=owner)
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "forbidden"
    resp = await client.post(url, json={"to": "active"}, headers=await _auth(session, p.wg))
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "transition_not_allowed"
    resp = await client.post(url, json={"to": "wg_approved"}, headers=await _auth(session, p.wg))
    assert resp.status_code == 200
    assert resp.json() == {"id": rid, "state": "wg_approved"}


async def test_bad_input_is_a_precise_422(client: AsyncClient, session: AsyncSession) -> None:
    p = await People(session).make()
    owner = await _auth(session, p.owner)
    data = payload(p.owner.email)
    data["measures"][0]["depends_on"] = ["c"]
    resp = await client.post("/api/v1/roadmaps", json=data, headers=owner)
    assert resp.status_code == 422
    assert "цикл" in resp.json()["error"]["message"]
    data = payload(p.owner.email)
    data["measures"][0]["change_requests"] = [999_999_999]
    resp = await client.post("/api/v1/roadmaps", json=data, headers=owner)
    assert resp.status_code == 422
    assert resp.json()["error"]["field"] == "measures.0.change_requests"
    resp = await client.post("/api/v1/roadmaps", json={"title": "x"}, headers=owner)
    assert resp.status_code == 422
    total = (await client.get("/api/v1/roadmaps", headers=owner)).json()["total"]
    assert total == 0


async def test_measures_link_change_requests_in_scope(
    client: AsyncClient, session: AsyncSession
) -> None:
    p = await People(session).make()
    mine = await create_change_request(
        session, p.owner, subject_kind="service", subject_code=SERVICE, title="Запись", problem="x"
    )
    stranger = await create_user(session, Role.participant, "region:77")
    theirs = await create_change_request(
        session, stranger, subject_kind="service", subject_code=SERVICE, title="Чужой", problem="y"
    )
    owner = await _auth(session, p.owner)
    data = payload(p.owner.email)
    data["measures"][1]["change_requests"] = [theirs.id]
    resp = await client.post("/api/v1/roadmaps", json=data, headers=owner)
    assert resp.status_code == 422
    assert "вне вашей области" in resp.json()["error"]["message"]
    data["measures"][1]["change_requests"] = [mine.id, mine.id]
    resp = await client.post("/api/v1/roadmaps", json=data, headers=owner)
    assert resp.status_code == 201, resp.text
    assert resp.json()["measures"][1]["change_requests"] == [mine.id]
