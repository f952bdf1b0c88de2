"""Improvement pages over HTTP: lists and exports, passports import/export/diff, meetings."""

from __future__ import annotations

import io

import yaml
from httpx import AsyncClient
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.roles import Role
from tests.factories import create_user, csrf_from
from tests.improvement.conftest import World, as_user, new_request

PASSPORT = {
    "subject_kind": "service",
    "subject_code": "health.vaccination",
    "doc": "target",
    "region_code": None,
    "body": {"steps": ["Запись", "Прививка"], "documents": ["Полис ОМС"], "term_days": 1,
             "channels": ["portal"], "goals": [{"metric": "term_days", "op": "<=", "value": 1}]},
}  # fmt: skip


async def test_lists_queue_and_exports(
    client: AsyncClient, session: AsyncSession, world: World
) -> None:
    cr = await new_request(session, world.owner, title="Электронная очередь в поликлинике")
    await as_user(client, world.owner)
    hub = await client.get("/improvement")
    assert hub.status_code == 200
    assert "Ждут моего решения" in hub.text
    assert "Электронная очередь в поликлинике" in hub.text  # a draft waits for its owner
    page = await client.get("/improvement/changes", params={"q": "очередь", "state": "draft"})
    assert f"/improvement/changes/{cr.id}" in page.text
    bad = await client.get("/improvement/changes", params={"state": "nonsense"})
    assert bad.status_code == 422
    assert "Неизвестное состояние" in bad.text
    csv = await client.get("/improvement/changes", params={"format": "csv"})
    assert csv.headers["content-disposition"] == 'attachment; filename="change-requests.csv"'
    assert "Электронная очередь в поликлинике" in csv.content.decode("utf-8-sig")
    xlsx = await client.get("/improvement/changes", params={"format": "xlsx"})
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("№", "Название", "Состояние")
    assert any(r[1] == "Электронная очередь в поликлинике" for r in rows[1:])
    # the analyst sees it in the queue only once it is submitted
    await as_user(client, world.analyst)
    assert "Электронная очередь в поликлинике" not in (await client.get("/improvement")).text


async def test_passport_import_export_diff_and_lock(
    client: AsyncClient, session: AsyncSession, world: World
) -> None:
    await as_user(client, world.analyst)
    listing = await client.get("/improvement/passports")
    token = csrf_from(listing.text)
    text = yaml.safe_dump(PASSPORT, allow_unicode=True)
    resp = await client.post(
        "/improvement/passports/import",
        data={"csrf_token": token},
        files={"file": ("target.yaml", text.encode())},
    )
    assert resp.status_code == 303
    first = resp.headers["location"]
    pid = int(first.rsplit("/", 1)[1])
    exported = await client.get(f"{first}/export.json")
    assert exported.json()["body"]["term_days"] == 1
    bad = await client.post(
        "/improvement/passports/import",
        data={"csrf_token": token},
        files={
            "file": (
                "x.yaml",
                b"subject_kind: service\nsubject_code: nope\ndoc: target\nbody: {}\n",
            )
        },
    )
    assert bad.status_code == 422
    assert "не найдена в реестре" in bad.text
    # a new version, edited, compared side by side
    new = await client.post(f"{first}/new-version", data={"csrf_token": token})
    second = new.headers["location"]
    edit = await client.post(
        f"{second}/edit",
        data={
            "csrf_token": token,
            "body": "steps: [Прививка]\nterm_days: 0\nchannels: [proactive]",
        },
    )
    assert edit.status_code == 303
    diff = await client.get(
        "/improvement/passports/diff", params={"a": pid, "b": int(second.rsplit("/", 1)[1])}
    )
    assert "убрано: Запись" in diff.text
    assert "добавлено: проактивно" in diff.text
    # through the workflow to approval; then the edit is refused with a precise message
    portal = await create_user(session, Role.portal_operator)
    await session.commit()
    steps = [(world.analyst, "expertise"), (world.wg, "wg_approved"), (world.sc, "approved")]
    if True:  # vaccination is not an МСЗУ service: no Минцифры step
        for user, to in steps:
            await as_user(client, user)
            page = await client.get(first)
            r = await client.post(
                f"{first}/transition", data={"csrf_token": csrf_from(page.text), "to": to}
            )
            assert r.status_code == 303, (to, r.text[:300])
    await as_user(client, world.analyst)
    page = await client.get(first)
    assert "Утверждён подкомиссией" in page.text
    locked = await client.post(
        f"{first}/edit", data={"csrf_token": csrf_from(page.text), "body": "term_days: 5"}
    )
    assert locked.status_code == 409
    assert "Утверждённый документ изменить нельзя" in locked.text
    assert portal.role == "portal_operator"


async def test_meeting_pages_and_docx(
    client: AsyncClient, session: AsyncSession, world: World
) -> None:
    await as_user(client, world.wg)
    page = await client.get("/improvement/meetings")
    assert page.status_code == 200
    r = await client.post(
        "/improvement/meetings",
        data={"csrf_token": csrf_from(page.text), "title": "Заседание РГ", "held_on": "2026-12-01"},
    )
    assert r.status_code == 303
    meeting = r.headers["location"]
    agenda = await client.get(f"{meeting}/agenda.docx")
    assert agenda.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.wordprocessingml"
    )
    assert agenda.content.startswith(b"PK")
    empty = await client.post(f"{meeting}/items", data={"csrf_token": csrf_from(page.text)})
    assert empty.status_code == 422
    await as_user(client, world.owner)
    assert (await client.get(meeting)).status_code == 403
