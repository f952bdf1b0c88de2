"""Decisions of bodies: meetings of the WG and the subcommission, agendas, recorded decisions.

A decision is recorded by the body's secretary only once the meeting has a protocol number and
date; recording it moves the item (a change request, a passport or a roadmap) as the decision
says.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import Forbidden, NotFound, ValidationFailed
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.improvement.models import ChangeRequest, Meeting, MeetingItem, Passport
from otklik.improvement.passports import transition_passport
from otklik.improvement.repository import subject_names
from otklik.improvement.service import TransitionConflict, transition
from otklik.improvement.workflow import DOC_LABELS
from otklik.kit.clock import now_utc
from otklik.roadmaps import service as roadmap_service
from otklik.roadmaps.models import Roadmap

BODY_LABELS = {
    "wg": "Межведомственная рабочая группа",
    "subcommission": "Подкомиссия",
}
DECISION_LABELS = {"approved": "одобрено", "rejected": "отклонено", "returned": "возвращено"}
SECRETARY = {"wg": Role.wg_secretary, "subcommission": Role.subcommission_secretary}
# what the decision does to the item: (entity, body, decision) -> target state
CR_MOVES = {
    ("wg", "approved"): "subcommission_decision",
    ("wg", "rejected"): "rejected",
    ("wg", "returned"): "returned",
    ("subcommission", "approved"): "approved",
    ("subcommission", "rejected"): "rejected",
    ("subcommission", "returned"): "returned",
}
PASSPORT_MOVES = {
    ("wg", "approved"): "wg_approved",
    ("subcommission", "approved"): "approved",
}
# a roadmap's decisions, as a passport's: not approved = back to (or stays in) its draft
ROADMAP_MOVES = {
    ("wg", "approved"): "wg_approved",
    ("subcommission", "approved"): "subcommission_approved",
    ("subcommission", "rejected"): "draft",
    ("subcommission", "returned"): "draft",
}
AWAITING_CR = {"wg": "wg_review", "subcommission": "subcommission_decision"}
AWAITING_ROADMAP = {"wg": "draft", "subcommission": "wg_approved"}
AWAITING_PASSPORT = {"wg": ("expertise", "digital_agreed"), "subcommission": ("wg_approved",)}


def body_of(user: User) -> str:
    for body, role in SECRETARY.items():
        if user.role == role:
            return body
    raise Forbidden(
        "Повестку и решения ведут секретари рабочей группы и подкомиссии.",
        code="role_not_allowed",
    )


async def create_meeting(session: AsyncSession, user: User, held_on: date, title: str) -> Meeting:
    body = body_of(user)
    if not title.strip():
        raise ValidationFailed("Укажите название заседания.", code="missing_fields")
    m = Meeting(body=body, held_on=held_on, title=title.strip()[:300], created_by=user.id)
    session.add(m)
    await session.flush()
    return m


async def meeting(session: AsyncSession, user: User, meeting_id: int) -> Meeting:
    m = await session.get(Meeting, meeting_id, populate_existing=True)
    if m is None or m.body != body_of(user):
        raise NotFound("Заседание не найдено.")
    return m


async def awaiting(session: AsyncSession, body: str) -> list[dict[str, Any]]:
    """Items waiting for this body and not yet on an undecided agenda."""
    on_agenda = select(MeetingItem.entity_id).where(
        MeetingItem.entity == "change_request", MeetingItem.decision.is_(None)
    )
    crs = await session.execute(
        select(ChangeRequest.id, ChangeRequest.title)
        .where(ChangeRequest.state == AWAITING_CR[body], ChangeRequest.id.not_in(on_agenda))
        .order_by(ChangeRequest.updated_at)
        .limit(200)
    )
    on_agenda_p = select(MeetingItem.entity_id).where(
        MeetingItem.entity == "passport", MeetingItem.decision.is_(None)
    )
    passports = await session.execute(
        select(
            Passport.id,
            Passport.doc,
            Passport.subject_kind,
            Passport.subject_code,
            Passport.region_code,
            Passport.version,
        )
        .where(Passport.status.in_(AWAITING_PASSPORT[body]), Passport.id.not_in(on_agenda_p))
        .order_by(Passport.id)
        .limit(200)
    )
    on_agenda_r = select(MeetingItem.entity_id).where(
        MeetingItem.entity == "roadmap", MeetingItem.decision.is_(None)
    )
    roadmaps = await session.execute(
        select(Roadmap.id, Roadmap.title)
        .where(Roadmap.state == AWAITING_ROADMAP[body], Roadmap.id.not_in(on_agenda_r))
        .order_by(Roadmap.id)
        .limit(200)
    )
    out = [
        {"entity": "change_request", "id": i, "title": f"Запрос на изменение № {i}: {t}"}
        for i, t in crs
    ]
    out += [
        {"entity": "roadmap", "id": i, "title": f"Дорожная карта № {i}: {t}"} for i, t in roadmaps
    ]
    found = passports.all()
    names = await subject_names(session, {(p.subject_kind, p.subject_code) for p in found})
    out += [
        {
            "entity": "passport",
            "id": p.id,
            "title": f"{DOC_LABELS[p.doc]}: "
            f"{names.get(f'{p.subject_kind}:{p.subject_code}', p.subject_code)}"
            f"{' (' + p.region_code + ')' if p.region_code else ' (типовой)'}, версия {p.version}",
        }
        for p in found
    ]
    return out


async def add_items(
    session: AsyncSession, user: User, meeting_id: int, picks: Sequence[tuple[str, int]]
) -> int:
    m = await meeting(session, user, meeting_id)
    if m.protocol_number:
        raise TransitionConflict("Протокол уже оформлен: повестку менять нельзя.")
    waiting = {(a["entity"], a["id"]): a["title"] for a in await awaiting(session, m.body)}
    unknown = [p for p in picks if p not in waiting]
    if unknown:
        raise ValidationFailed(
            "Часть выбранных пунктов уже не ждёт решения этого органа. Обновите страницу.",
            code="not_awaiting",
        )
    last = await session.scalar(
        select(func.coalesce(func.max(MeetingItem.position), 0)).where(
            MeetingItem.meeting_id == m.id
        )
    )
    for k, (entity, eid) in enumerate(picks, start=int(last or 0) + 1):
        session.add(
            MeetingItem(
                meeting_id=m.id, position=k, entity=entity, entity_id=eid,
                title=waiting[(entity, eid)][:300],
            )
        )  # fmt: skip
    await session.flush()
    return len(picks)


async def set_protocol(
    session: AsyncSession, user: User, meeting_id: int, number: str, on: date
) -> None:
    m = await meeting(session, user, meeting_id)
    number = number.strip()
    if not number:
        raise ValidationFailed("Укажите номер протокола.", code="missing_fields")
    if on < m.held_on:
        raise ValidationFailed(
            "Дата протокола не может быть раньше даты заседания.", code="dates_out_of_order"
        )
    await session.execute(
        update(Meeting)
        .where(Meeting.id == m.id)
        .values(protocol_number=number[:40], protocol_date=on)
    )


async def items(session: AsyncSession, meeting_id: int) -> list[MeetingItem]:
    stmt = (
        select(MeetingItem)
        .where(MeetingItem.meeting_id == meeting_id)
        .order_by(MeetingItem.position)
        .execution_options(populate_existing=True)
    )
    return list((await session.scalars(stmt)).all())


async def decide(
    session: AsyncSession, user: User, item_id: int, decision: str, comment: str
) -> None:
    """Record the body's decision on one item and move the item accordingly."""
    item = await session.get(MeetingItem, item_id, populate_existing=True)
    if item is None:
        raise NotFound("Пункт повестки не найден.")
    m = await meeting(session, user, item.meeting_id)
    if not m.protocol_number or m.protocol_date is None:
        raise TransitionConflict(
            "Сначала укажите номер и дату протокола: решение записывается по протоколу."
        )
    if item.decision is not None:
        raise TransitionConflict("Решение по этому пункту уже записано.")
    if decision not in DECISION_LABELS:
        raise ValidationFailed("Решение: одобрено, отклонено или возвращено.")
    note = f"Протокол № {m.protocol_number} от {m.protocol_date:%d.%m.%Y}. {comment.strip()}"
    if decision != "approved" and not comment.strip():
        raise ValidationFailed("Укажите причину решения.", code="comment_required")
    if item.entity == "change_request":
        await transition(session, user, item.entity_id, CR_MOVES[(m.body, decision)], note.strip())
    elif item.entity == "roadmap":
        await roadmap_service.decide(
            session, user, item.entity_id, ROADMAP_MOVES.get((m.body, decision)), note.strip(),
            now_utc(),
        )  # fmt: skip
    else:
        target = PASSPORT_MOVES.get((m.body, decision), "draft")
        await _passport_as_body(session, user, item.entity_id, target, note.strip())
    await session.execute(
        update(MeetingItem)
        .where(MeetingItem.id == item.id)
        .values(decision=decision, comment=comment.strip()[:4000], decided_at=func.now())
    )


async def _passport_as_body(
    session: AsyncSession, user: User, pid: int, target: str, note: str
) -> None:
    await transition_passport(session, user, pid, target, note)


def docx(m: Meeting, rows: Sequence[MeetingItem], protocol: bool) -> bytes:
    """The agenda, or the protocol extract with decisions, as a DOCX document."""
    from docx import Document

    doc = Document()
    kind = "Выписка из протокола" if protocol else "Повестка заседания"
    doc.add_heading(f"{kind}: {BODY_LABELS[m.body]}", level=1)
    doc.add_paragraph(f"{m.title}, {m.held_on:%d.%m.%Y}")
    if protocol and m.protocol_number and m.protocol_date:
        doc.add_paragraph(f"Протокол № {m.protocol_number} от {m.protocol_date:%d.%m.%Y}")
    table = doc.add_table(rows=1, cols=3 if protocol else 2)
    head = table.rows[0].cells
    head[0].text, head[1].text = "№", "Вопрос"
    if protocol:
        head[2].text = "Решение"
    for it in rows:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = str(it.position), it.title
        if protocol:
            decided = DECISION_LABELS.get(it.decision or "", "не рассмотрено")
            cells[2].text = decided + (f": {it.comment}" if it.comment else "")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
