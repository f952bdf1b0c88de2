"""Incidents over HTTP: the API's shape and scope, transitions, decisions; pages and exports."""

from __future__ import annotations

from datetime import datetime

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.roles import Role
from otklik.identity.service import now_utc
from otklik.incidents import service
from otklik.indicators.repository import MOSCOW
from tests.factories import create_organization, create_user, csrf_from, login
from tests.incidents.factories import drop_signals


async def _incident(session: AsyncSession, region: str = "16") -> int:
    org = await create_organization(session, region=region)
    await drop_signals(session, [org])
    await service.detect(session, now_utc())
    return org.id


async def test_list_shape_scope_and_filters(client: AsyncClient, session: AsyncSession) -> None:
    await _incident(session, "16")
    authority = await create_user(session, Role.regional_authority, scope="region:16")
    other = await create_user(session, Role.regional_authority, scope="region:77")
    assert await login(client, authority.email) == 303
    body = (await client.get("/api/v1/incidents?state=open&severity=3")).json()
    assert body["total"] == 1
    item = body["items"][0]
    assert item["source"] == "signal"
    assert set(item["sla"]) >= {"ack_due", "resolve_due", "breached"}
    assert item["evidence"][0]["kind"] == "indicator_drop"
    assert (await client.get("/api/v1/incidents?severity=1")).json()["total"] == 0
    bad = await client.get("/api/v1/incidents?severity=9")
    assert bad.status_code == 422
    await client.post(
        "/logout", data={"csrf_token": csrf_from((await client.get("/incidents")).text)}
    )
    assert await login(client, other.email) == 303
    assert (await client.get("/api/v1/incidents")).json()["total"] == 0
    assert (await client.get(f"/api/v1/incidents/{item['id']}")).status_code == 404


async def test_transitions_escalation_and_decision(
    client: AsyncClient, session: AsyncSession
) -> None:
    await _incident(session)
    coordinator = await create_user(session, Role.coordinator)
    secretary = await create_user(session, Role.subcommission_secretary)
    assert await login(client, coordinator.email) == 303
    iid = (await client.get("/api/v1/incidents")).json()["items"][0]["id"]
    url = f"/api/v1/incidents/{iid}/transitions"
    unknown = await client.post(url, json={"action": "explode"})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "bad_action"
    no_comment = await client.post(url, json={"action": "escalate"})
    assert no_comment.json()["error"]["message"] == (
        "Для действия «Передать в подкомиссию» нужен комментарий."
    )
    conflict = await client.post(url, json={"action": "close"})
    assert conflict.status_code == 409
    ok = await client.post(url, json={"action": "escalate", "comment": "нужна помощь региона"})
    assert ok.json()["state"] == "escalated"
    forbidden = await client.post(
        f"/api/v1/incidents/{iid}/decision",
        json={"meeting_date": "2026-12-01", "protocol": "7", "decision": "Поручить Минздраву"},
    )
    assert forbidden.status_code == 403
    await client.post(
        "/logout", data={"csrf_token": csrf_from((await client.get("/incidents")).text)}
    )
    assert await login(client, secretary.email) == 303
    decided = await client.post(
        f"/api/v1/incidents/{iid}/decision",
        json={
            "meeting_date": datetime.now(MOSCOW).date().isoformat(),  # Moscow "today"
            "protocol": "П-12",
            "decision": "Поручить региону устранить очередь",
        },
    )
    assert decided.status_code == 200
    body = decided.json()
    assert body["state"] == "in_progress"
    assert body["decision"]["protocol"] == "П-12"
    assert [e["kind"] for e in body["timeline"]][-1] == "decision"


async def test_pages_detail_board_and_export(client: AsyncClient, session: AsyncSession) -> None:
    await _incident(session)
    user = await create_user(session, Role.coordinator)
    assert await login(client, user.email) == 303
    page = await client.get("/incidents?state=open&q=Падение")
    assert page.status_code == 200
    assert "Падение оценки" in page.text
    csv_body = await client.get("/incidents?export=csv")
    assert csv_body.headers["content-type"].startswith("text/csv")
    assert "Падение оценки" in csv_body.content.decode("utf-8-sig")
    xlsx = await client.get("/incidents?export=xlsx")
    assert xlsx.content[:2] == b"PK"
    iid = (await client.get("/api/v1/incidents")).json()["items"][0]["id"]
    detail = await client.get(f"/incidents/{iid}")
    assert "Хронология" in detail.text
    form = {"csrf_token": csrf_from(detail.text), "action": "acknowledge"}
    moved = await client.post(f"/incidents/{iid}/transitions", data=form)
    assert moved.status_code == 303
    assert "принят" in (await client.get(f"/incidents/{iid}")).text
    board = await client.get("/incidents/board")
    assert "MTTA" in board.text
    new = await client.get("/incidents/new")
    created = await client.post(
        "/incidents/new",
        data={
            "csrf_token": csrf_from(new.text),
            "title": "Нет",
            "subject": "service:x",
            "severity": "2",
            "region_code": "16",
        },
    )
    assert created.status_code == 422
    assert "Название инцидента: от 5 до 300 символов." in created.text
