"""Concurrency, attachments, immutability of approved passports, control check, decisions."""

from __future__ import annotations

import asyncio
import io
import zipfile

import pytest
from httpx import AsyncClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from otklik.errors import DomainError
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.improvement import checks, decisions, passports, repository
from otklik.improvement.models import ChangeRequest, ControlCheckItem, Passport
from otklik.improvement.service import TransitionConflict, transition
from tests.factories import create_user, csrf_from
from tests.improvement.conftest import World, as_user, new_request

TARGET = {
    "steps": ["Запись онлайн", "Приём"],
    "actions": 1,
    "documents": ["Полис ОМС"],
    "term_days": 1,
    "channels": ["portal"],
    "fees": 0,
    "goals": [{"metric": "documents", "op": "<=", "value": 1},
              {"metric": "satisfaction", "op": ">=", "value": 4.5}],
}  # fmt: skip


async def _walk(session: AsyncSession, w: World, cr_id: int, *steps: tuple[User, str]) -> None:
    for user, to in steps:
        await transition(session, user, cr_id, to, "ok")


async def test_concurrent_transitions_exactly_one_wins(engine: AsyncEngine) -> None:
    """Two WG secretaries approve at once: one passes, the other gets 409.

    Committed for real (two connections), so it creates no organization: other tests count them.
    """
    maker = async_sessionmaker(engine, expire_on_commit=False)
    async with maker() as s:
        owner = await create_user(s, Role.participant, "region:16")
        analyst = await create_user(s, Role.analyst)
        wg1 = await create_user(s, Role.wg_secretary)
        wg2 = await create_user(s, Role.wg_secretary)
        cr = await new_request(s, owner)
        await _walk(s, None, cr.id, (owner, "submitted"), (analyst, "expertise"),  # type: ignore[arg-type]
                    (analyst, "wg_review"))  # fmt: skip
        await s.commit()

    async def attempt(user: User) -> str:
        async with maker() as s:
            try:
                await transition(s, user, cr.id, "subcommission_decision")
                await asyncio.sleep(0.3)  # hold the lock so the other one queues behind it
                await s.commit()
                return "ok"
            except TransitionConflict:
                await s.rollback()
                return "409"

    results = await asyncio.gather(attempt(wg1), attempt(wg2))
    assert sorted(results) == ["409", "ok"]
    async with maker() as s:
        row = await s.get(ChangeRequest, cr.id)
        assert row is not None
        assert row.state == "subcommission_decision"
        assert row.version == 5


def _docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("word/document.xml", "<w/>")
    return buf.getvalue()


async def test_attachments(client: AsyncClient, session: AsyncSession, world: World) -> None:
    cr = await new_request(session, world.owner)
    await as_user(client, world.owner)
    page = await client.get(f"/improvement/changes/{cr.id}")
    assert page.status_code == 200
    token = csrf_from(page.text)
    url = f"/improvement/changes/{cr.id}/attachments"

    async def send(name: str, data: bytes) -> int:
        r = await client.post(url, data={"csrf_token": token}, files={"file": (name, data)})
        return r.status_code

    assert await send("protocol.pdf", b"%PDF-1.7\n...") == 303
    assert await send("plan.docx", _docx()) == 303
    # an executable renamed .pdf, a zip that is not a document, an unknown extension
    resp = await client.post(
        url, data={"csrf_token": token}, files={"file": ("report.pdf", b"MZ\x90\x00 exe")}
    )
    assert resp.status_code == 422
    assert "не соответствует расширению" in resp.text
    assert await send("sheet.xlsx", _docx()) == 422
    assert await send("run.exe", b"MZ\x90") == 422
    assert await send("big.pdf", b"%PDF-" + b"0" * (20 * 1024 * 1024)) == 413
    detail = await client.get(f"/improvement/changes/{cr.id}")
    assert detail.text.count("/attachments/") == 2  # only the two good files were kept
    first = detail.text.split(f"/improvement/changes/{cr.id}/attachments/")[1].split('"')[0]
    got = await client.get(f"/improvement/changes/{cr.id}/attachments/{first}")
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"].startswith("attachment;")


async def test_approved_passport_is_immutable(session: AsyncSession, world: World) -> None:
    p = await passports.create_version(
        session, world.analyst, subject_kind="service", subject_code="health.outpatient_visit",
        doc="target", body=TARGET,
    )  # fmt: skip
    await passports.edit_draft(session, world.analyst, p.id, {**TARGET, "term_days": 2})
    await passports.transition_passport(session, world.analyst, p.id, "expertise")
    with pytest.raises(DomainError, match="только после возврата"):
        await passports.edit_draft(session, world.analyst, p.id, TARGET)
    with pytest.raises(DomainError, match="Минцифры"):  # МСЗУ: Минцифры agrees first
        await passports.transition_passport(session, world.wg, p.id, "wg_approved")
    portal = await create_user(session, Role.portal_operator)
    await passports.transition_passport(session, portal, p.id, "digital_agreed")
    await passports.transition_passport(session, world.wg, p.id, "wg_approved")
    with pytest.raises(DomainError, match="другая роль"):
        await passports.transition_passport(session, world.wg, p.id, "approved")
    await passports.transition_passport(session, world.sc, p.id, "approved")
    with pytest.raises(DomainError, match="Утверждённый документ"):
        await passports.edit_draft(session, world.analyst, p.id, TARGET)
    # the database itself refuses, whatever the code does
    with pytest.raises(DBAPIError, match="immutable"):
        async with session.begin_nested():
            await session.execute(
                text("UPDATE passports SET body = '{}'::jsonb WHERE id = :id"), {"id": p.id}
            )
    with pytest.raises(DBAPIError, match="cannot be deleted"):
        async with session.begin_nested():
            await session.execute(text("DELETE FROM passports WHERE id = :id"), {"id": p.id})
    # a regional passport derives from the typical one; its deviations are counted
    await passports.transition_passport(session, world.analyst, p.id, "in_force")
    region = await create_user(session, Role.participant, "region:16")
    r = await passports.create_version(
        session, region, subject_kind="service", subject_code="health.outpatient_visit",
        doc="target", region_code="16", body={**TARGET, "term_days": 3, "documents": []},
    )  # fmt: skip
    assert r.base_id == p.id
    devs = passports.deviations(r.body, p.body)
    assert [d["field"] for d in devs] == ["Документы (сведения)", "Срок, дней"]
    rows = passports.diff(p.body, r.body)
    docs = next(x for x in rows if x["field"] == "Документы (сведения)")
    assert docs["removed"] == ["Полис ОМС"]
    # YAML round trip
    loaded = passports.load_text(passports.dump(r, "yaml"))
    assert loaded["body"] == r.body
    with pytest.raises(DomainError, match="term_days"):
        passports.parse_body({**TARGET, "term_days": -1})


async def test_control_check_fail_then_pass(session: AsyncSession, world: World) -> None:
    p = await passports.create_version(
        session, world.analyst, subject_kind="service", subject_code="health.outpatient_visit",
        doc="target", body=TARGET,
    )  # fmt: skip
    await session.execute(
        text("UPDATE passports SET status = 'approved' WHERE id = :id"), {"id": p.id}
    )
    cr = await new_request(session, world.owner)
    a, o = world.analyst, world.owner
    await _walk(session, world, cr.id, (o, "submitted"), (a, "expertise"), (a, "wg_review"),
                (world.wg, "subcommission_decision"), (world.sc, "approved"),
                (o, "implementation"), (o, "control_check"))  # fmt: skip
    with pytest.raises(TransitionConflict, match="контрольной проверки"):
        await transition(session, a, cr.id, "released")
    items = (
        await session.scalars(select(ControlCheckItem).order_by(ControlCheckItem.position))
    ).all()
    goals = [i.goal for i in items]
    assert goals[1:] == [
        "документов ≤ 1",
        "удовлетворённость (1–5) ≥ 4,5",
    ]  # the decimal comma of the formatter
    with pytest.raises(DomainError, match="опишите"):
        await checks.record(session, a, cr.id, {i.id: ("fail", "") for i in items})
    state = await checks.record(
        session,
        a,
        cr.id,
        {i.id: ("fail" if k == 1 else "pass", "два документа") for k, i in enumerate(items)},
    )
    assert state == "implementation"
    await transition(session, o, cr.id, "control_check")
    items = await repository.check_items(session, cr.id)
    assert all(i.round == 2 for i in items)
    assert (
        await checks.record(session, a, cr.id, {i.id: ("pass", "") for i in items})
        == "control_check"
    )
    released = await transition(session, a, cr.id, "released")
    assert released.state == "released"


async def test_meeting_decisions_and_docx(session: AsyncSession, world: World) -> None:
    cr = await new_request(session, world.owner)
    a = world.analyst
    await _walk(session, world, cr.id, (world.owner, "submitted"), (a, "expertise"),
                (a, "wg_review"))  # fmt: skip
    from datetime import date

    m = await decisions.create_meeting(session, world.wg, date(2026, 12, 1), "Заседание № 5")
    assert ("change_request", cr.id) in {
        (x["entity"], x["id"]) for x in await decisions.awaiting(session, "wg")
    }
    await decisions.add_items(session, world.wg, m.id, [("change_request", cr.id)])
    [item] = await decisions.items(session, m.id)
    with pytest.raises(DomainError, match="номер и дату протокола"):
        await decisions.decide(session, world.wg, item.id, "approved", "")
    with pytest.raises(DomainError, match="раньше даты заседания"):
        await decisions.set_protocol(session, world.wg, m.id, "5-П", date(2026, 11, 30))
    await decisions.set_protocol(session, world.wg, m.id, "5-П", date(2026, 12, 2))
    with pytest.raises(DomainError):  # the subcommission's secretary cannot touch a WG meeting
        await decisions.decide(session, world.sc, item.id, "approved", "")
    await decisions.decide(session, world.wg, item.id, "approved", "")
    row = await session.get(ChangeRequest, cr.id, populate_existing=True)
    assert row is not None
    assert row.state == "subcommission_decision"
    data = decisions.docx(m, await decisions.items(session, m.id), protocol=True)
    from docx import Document

    doc = Document(io.BytesIO(data))
    cells = [c.text for c in doc.tables[0].rows[1].cells]
    assert cells[2] == "одобрено"
    assert any("5-П" in p.text for p in doc.paragraphs)
    assert await session.scalar(select(Passport.id).limit(0)) is None
