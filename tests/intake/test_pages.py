"""Sources in the administrator's cabinet, the operator's upload page, the quality figures."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import orjson
from httpx import AsyncClient
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.audit import Actor
from otklik.identity.roles import Role
from otklik.intake.service import ingest, link_operator
from otklik.kit.pii import PiiVault
from tests.factories import (
    create_organization,
    create_source,
    create_user,
    csrf_from,
    login,
    service_record,
)


async def test_admin_creates_rotates_and_disables_a_source(
    client: AsyncClient, session: AsyncSession
) -> None:
    admin = await create_user(session, Role.admin)
    await session.commit()
    assert await login(client, admin.email) == 303
    page = await client.get("/admin/sources")
    resp = await client.post(
        "/admin/sources", data={"csrf_token": csrf_from(page.text), "name": "mis-test"}
    )
    assert resp.status_code == 200
    key = re.search(r'<code class="token">(otks_[^<]+)</code>', resp.text)
    assert key
    first = key.group(1)
    records = {"Authorization": f"Bearer {first}"}
    assert (
        await client.post("/api/v1/service-records", json=[], headers=records)
    ).status_code == 200

    resp = await client.post(
        "/admin/sources/mis-test/rotate", data={"csrf_token": csrf_from(resp.text)}
    )
    second = re.search(r'<code class="token">(otks_[^<]+)</code>', resp.text)
    assert second
    assert second.group(1) != first
    assert "Прежний ключ действует до" in resp.text
    assert (
        await client.post("/api/v1/service-records", json=[], headers=records)
    ).status_code == 200

    resp = await client.post(
        "/admin/sources/mis-test/active",
        data={"csrf_token": csrf_from(resp.text), "active": "false"},
    )
    assert resp.status_code == 303
    assert (
        await client.post("/api/v1/service-records", json=[], headers=records)
    ).status_code == 401
    page = await client.get("/admin/sources")
    assert "отключён" in page.text

    bad = await client.post(
        "/admin/sources", data={"csrf_token": csrf_from(page.text), "name": "../x"}
    )
    assert bad.status_code == 422
    assert "латинские буквы" in bad.text


async def test_operator_uploads_a_file_and_downloads_the_errors(
    client: AsyncClient, session: AsyncSession
) -> None:
    org = await create_organization(session)
    source, _ = await create_source(session)
    operator = await create_user(session, Role.is_operator)
    await link_operator(session, Actor.system("test"), operator.email, source.name)
    await session.commit()
    await login(client, operator.email)
    page = await client.get("/intake/upload")
    assert source.name in page.text
    good = service_record(org.ogrn)
    bad = service_record(org.ogrn, organization_ogrn="1027700132195")
    body = orjson.dumps(good) + b"\n" + orjson.dumps(bad) + b"\n"
    resp = await client.post(
        "/intake/upload",
        data={"csrf_token": csrf_from(page.text)},
        files={"file": ("records.ndjson", body, "application/x-ndjson")},
    )
    assert resp.status_code == 200
    assert "unknown_organization" in resp.text
    link = re.search(r'href="(/intake/upload/reports/[^"]+\.xlsx)"', resp.text)
    assert link
    xlsx = await client.get(link.group(1))
    assert xlsx.status_code == 200
    ws = load_workbook(io.BytesIO(xlsx.content)).active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "Строка"
    assert rows[1][3] == "unknown_organization"
    assert rows[1][1] == bad["record_id"]

    other = await create_user(session, Role.is_operator)
    await session.commit()
    client.cookies.clear()
    await login(client, other.email)
    assert (await client.get(link.group(1))).status_code == 404

    broken = await client.get("/intake/upload")
    resp = await client.post(
        "/intake/upload",
        data={"csrf_token": csrf_from(broken.text)},
        files={"file": ("records.csv", b"a,b\n1,2\n", "text/csv")},
    )
    assert resp.status_code == 403  # not linked to any source


async def test_quality_figures_for_coordinator_and_operator(
    client: AsyncClient, session: AsyncSession
) -> None:
    org = await create_organization(session)
    mine, _ = await create_source(session)
    theirs, _ = await create_source(session)
    vault = PiiVault("p" * 40)
    now = datetime.now(UTC)
    late = service_record(org.ogrn, served_at=(now - timedelta(days=5)).isoformat())
    on_time = [service_record(org.ogrn) for _ in range(3)]
    bad_snils = service_record(
        org.ogrn, recipient={"snils": "123-456-789 00", "birth_date": "1980-01-01"}
    )
    batch = [late, *on_time, {"x": 1}, bad_snils]
    await ingest(session, mine.id, batch, vault=vault, retention_days=45, channel="api")
    await ingest(
        session,
        theirs.id,
        [service_record(org.ogrn)],
        vault=vault,
        retention_days=45,
        channel="api",
    )
    coordinator = await create_user(session, Role.coordinator)
    operator = await create_user(session, Role.is_operator)
    await link_operator(session, Actor.system("test"), operator.email, mine.name)
    await session.commit()

    await login(client, coordinator.email)
    data = (await client.get("/api/v1/intake/quality", params={"days": 7})).json()
    by_source = {s["source"]: s for s in data["sources"]}
    assert by_source[mine.name]["records"] == 4
    assert by_source[mine.name]["within_3_days"] == 0.75
    assert by_source[mine.name]["rejected"] == 2
    assert by_source[theirs.name]["within_3_days"] == 1.0
    assert by_source[mine.name]["p95_delay_hours"] > 24 * 3
    assert {r["code"] for r in data["rejections"]} >= {"unknown_field", "required"}
    assert data["organizations"][0]["ogrn"] == org.ogrn
    assert data["organizations"][0]["rejections"] == {"invalid_snils": 1}
    assert sum(d["accepted"] for d in data["days"]) == 5
    page = await client.get("/intake/quality", params={"days": 7, "source": mine.name})
    assert page.status_code == 200
    assert "75,0\u00a0%" in page.text

    client.cookies.clear()
    await login(client, operator.email)
    data = (await client.get("/api/v1/intake/quality")).json()
    assert [s["source"] for s in data["sources"]] == [mine.name]
    denied = await client.get("/api/v1/intake/quality", params={"source": theirs.name})
    assert denied.status_code == 403

    client.cookies.clear()
    clinic = await create_user(session, Role.organization, scope=f"organization:{org.ogrn}")
    await session.commit()
    await login(client, clinic.email)
    assert (await client.get("/api/v1/intake/quality")).status_code == 403
    assert (await client.get("/intake/quality")).status_code == 403
