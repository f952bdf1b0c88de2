"""The МСЗУ list workflow through the pages a person uses: roles, states, diff, export."""

from __future__ import annotations

import io

from httpx import AsyncClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.models import AuditEntry
from otklik.identity.roles import Role
from otklik.mszu import repository
from tests.factories import create_user, csrf_from, login


async def _as(client: AsyncClient, session: AsyncSession, role: Role) -> str:
    user = await create_user(session, role)
    await session.commit()
    client.cookies.clear()
    assert await login(client, user.email) == 303
    page = await client.get("/mszu")
    assert page.status_code == 200, page.text
    return csrf_from(page.text)


async def test_draft_agree_approve_diff_and_export(
    client: AsyncClient, session: AsyncSession
) -> None:
    csrf = await _as(client, session, Role.analyst)
    resp = await client.post("/mszu/list", data={"csrf_token": csrf, "note": "первая"})
    assert resp.status_code == 303
    first = int(resp.headers["location"].rsplit("/", 1)[1])
    items = await repository.items(session, first)
    assert "health.appointment_online" in items  # from the registry's МСЗУ flags
    # a second draft while one is open is refused
    again = await client.post("/mszu/list", data={"csrf_token": csrf})
    assert again.status_code == 409
    assert "ещё не утверждена" in again.text
    # the analyst may not agree
    assert (
        await client.post(f"/mszu/list/{first}/agree", data={"csrf_token": csrf})
    ).status_code == 403

    csrf = await _as(client, session, Role.portal_operator)
    assert (
        await client.post(f"/mszu/list/{first}/agree", data={"csrf_token": csrf})
    ).status_code == 303

    csrf = await _as(client, session, Role.subcommission_secretary)
    bad = await client.post(
        f"/mszu/list/{first}/approve",
        data={"csrf_token": csrf, "protocol": "", "decision_date": "2026-01-10"},
    )
    assert bad.status_code == 422
    assert "номер протокола" in bad.text
    future = await client.post(
        f"/mszu/list/{first}/approve",
        data={"csrf_token": csrf, "protocol": "7", "decision_date": "2099-01-01"},
    )
    assert future.status_code == 422
    ok = await client.post(
        f"/mszu/list/{first}/approve",
        data={"csrf_token": csrf, "protocol": "7-П", "decision_date": "2026-01-10"},
    )
    assert ok.status_code == 303
    v = await repository.version(session, first)
    assert v is not None
    await session.refresh(v)
    assert (v.status, v.protocol_number) == ("approved", "7-П")

    # a second version: the analyst removes one service and changes another
    csrf = await _as(client, session, Role.analyst)
    second = int(
        (await client.post("/mszu/list", data={"csrf_token": csrf}))
        .headers["location"]
        .rsplit("/", 1)[1]
    )
    form = {f"mode-{c}": m for c, m in items.items() if c != "health.checkup"}
    form["mode-health.appointment_online"] = "proactive"
    resp = await client.post(f"/mszu/list/{second}/items", data={"csrf_token": csrf, **form})
    assert resp.status_code == 303
    # approved versions never change
    resp = await client.post(f"/mszu/list/{first}/items", data={"csrf_token": csrf, **form})
    assert resp.status_code == 409
    diff = await client.get(f"/mszu/diff?old={first}&new={second}")
    assert "Исключены (1)" in diff.text
    assert "в электронном виде → проактивно" in diff.text
    xlsx = await client.get(f"/mszu/list/{first}?export=list&fmt=xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    assert "протокол № 7-П от 10.01.2026" in str(sheet["A1"].value)
    assert sheet.max_row == len(items) + 2
    audit = await session.scalars(select(AuditEntry.action).where(AuditEntry.entity == "mszu_list"))
    assert {"create", "agree", "approve", "update"} <= set(audit)


async def test_return_needs_a_reason_and_goes_back_to_draft(
    client: AsyncClient, session: AsyncSession
) -> None:
    csrf = await _as(client, session, Role.analyst)
    number = int(
        (await client.post("/mszu/list", data={"csrf_token": csrf}))
        .headers["location"]
        .rsplit("/", 1)[1]
    )
    empty = await client.post(f"/mszu/list/{number}/items", data={"csrf_token": csrf})
    assert empty.status_code == 422
    assert "не может быть пустым" in empty.text
    csrf = await _as(client, session, Role.portal_operator)
    resp = await client.post(
        f"/mszu/list/{number}/return", data={"csrf_token": csrf, "reason": " "}
    )
    assert resp.status_code == 422
    resp = await client.post(
        f"/mszu/list/{number}/return", data={"csrf_token": csrf, "reason": "Нет услуги ЗАГС"}
    )
    assert resp.status_code == 303
    page = await client.get(f"/mszu/list/{number}")
    assert "Нет услуги ЗАГС" in page.text
    assert (await client.get("/mszu/diff?old=1&new=999")).status_code == 404
