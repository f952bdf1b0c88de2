"""Passports of subjects: versioned current state, target state and optimized standard.

A version is edited only in ``draft``; once approved by the subcommission it never changes (the
service says so precisely, a database trigger makes sure). A regional passport derives from the
typical (national) one of the same subject and document; its deviations are listed and counted.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import DomainError, Forbidden, NotFound, ValidationFailed
from otklik.identity.audit import record_audit
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.improvement.models import ImprovementEvent, Passport
from otklik.improvement.service import TransitionConflict, actor_of, check_subject
from otklik.improvement.workflow import (
    DOC_LABELS,
    PASSPORT_LABELS,
    PASSPORT_STEPS,
    PROPOSERS,
)
from otklik.kit import fmt
from otklik.registry.models import Service

APPROVED = ("approved", "in_force", "superseded")
METRICS = {
    "documents": "документов",
    "actions": "действий заявителя",
    "steps": "шагов",
    "term_days": "срок, дней",
    "fees": "пошлина, руб.",
    "share_online": "доля онлайн",
    "share_proactive": "доля проактивно",
    "satisfaction": "удовлетворённость (1–5)",
}
CHANNELS = {"in_person": "лично", "portal": "портал", "proactive": "проактивно"}
FIELD_LABELS = {
    "steps": "Шаги",
    "actions": "Действий заявителя",
    "documents": "Документы (сведения)",
    "term_days": "Срок, дней",
    "channels": "Каналы",
    "fees": "Пошлина, руб.",
    "goals": "Цели",
}


class Goal(BaseModel):
    metric: str = Field(max_length=40)
    op: Literal["<=", ">=", "="]
    value: float

    def text(self) -> str:
        op = {"<=": "≤", ">=": "≥", "=": "="}[self.op]
        value = fmt.num(self.value, 2, trim=True)
        return f"{METRICS.get(self.metric, self.metric)} {op} {value}"


class PassportBody(BaseModel):
    steps: list[str] = Field(default_factory=list, max_length=100)
    actions: int = Field(default=0, ge=0, le=1000)
    documents: list[str] = Field(default_factory=list, max_length=100)
    term_days: int = Field(default=0, ge=0, le=3650)
    channels: list[Literal["in_person", "portal", "proactive"]] = Field(default_factory=list)
    fees: float = Field(default=0, ge=0)
    goals: list[Goal] = Field(default_factory=list, max_length=50)


class PassportLocked(DomainError):
    status_code = 409
    code = "document_locked"
    message = "Утверждённый документ изменить нельзя: создайте новую версию."


def parse_body(raw: dict[str, Any]) -> dict[str, Any]:
    try:
        return PassportBody.model_validate(raw).model_dump()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValidationFailed(
            f"Документ не прошёл проверку: поле «{where}» — {first['msg']}.", code="bad_passport"
        ) from exc


def load_text(text: str) -> dict[str, Any]:
    """A passport file (YAML or JSON): ``subject_kind, subject_code, doc, region_code, body``."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationFailed("Файл не читается как YAML или JSON.", code="bad_file") from exc
    if not isinstance(data, dict) or not isinstance(data.get("body"), dict):
        raise ValidationFailed(
            "В файле нужны поля subject_kind, subject_code, doc и body.", code="bad_file"
        )
    return data


def dump(p: Passport, fmt: str) -> str:
    data = {
        "subject_kind": p.subject_kind,
        "subject_code": p.subject_code,
        "region_code": p.region_code,
        "doc": p.doc,
        "version": p.version,
        "status": p.status,
        "body": p.body,
    }
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


async def get(session: AsyncSession, passport_id: int) -> Passport:
    p = await session.get(Passport, passport_id, populate_existing=True)
    if p is None:
        raise NotFound("Документ не найден.")
    return p


async def _typical(session: AsyncSession, kind: str, code: str, doc: str) -> Passport | None:
    """The typical passport regions derive from: in force, else the latest approved."""
    stmt = (
        select(Passport)
        .where(
            Passport.subject_kind == kind,
            Passport.subject_code == code,
            Passport.doc == doc,
            Passport.region_code.is_(None),
            Passport.status.in_(("in_force", "approved")),
        )
        .order_by((Passport.status == "in_force").desc(), Passport.version.desc())
        .limit(1)
    )
    return (await session.scalars(stmt)).first()


async def create_version(
    session: AsyncSession,
    user: User,
    *,
    subject_kind: str,
    subject_code: str,
    doc: str,
    body: dict[str, Any],
    region_code: str | None = None,
) -> Passport:
    """A new draft version (the next number for this subject, region and document)."""
    if user.role not in PROPOSERS:
        raise Forbidden(
            "Документы готовят участники и Аналитический центр.", code="role_not_allowed"
        )
    if doc not in DOC_LABELS:
        raise ValidationFailed(
            "Вид документа: current, target или standard.", code="unknown_document"
        )
    await check_subject(session, subject_kind, subject_code)
    if region_code is not None and user.scope_region_code not in (None, region_code):
        raise Forbidden("Субъект РФ вне вашей области доступа.", code="out_of_scope")
    clean = parse_body(body)
    same = (
        Passport.subject_kind == subject_kind,
        Passport.subject_code == subject_code,
        Passport.doc == doc,
        func.coalesce(Passport.region_code, "") == (region_code or ""),
    )
    version = (
        int(
            await session.scalar(select(func.coalesce(func.max(Passport.version), 0)).where(*same))
            or 0
        )
        + 1
    )
    base = await _typical(session, subject_kind, subject_code, doc) if region_code else None
    p = Passport(
        subject_kind=subject_kind,
        subject_code=subject_code,
        region_code=region_code,
        doc=doc,
        version=version,
        base_id=base.id if base else None,
        body=clean,
        created_by=user.id,
    )
    session.add(p)
    await session.flush()
    await _event(session, user, p.id, "created", None, "draft", "")
    return p


async def edit_draft(
    session: AsyncSession, user: User, passport_id: int, body: dict[str, Any]
) -> None:
    p = await get(session, passport_id)
    if user.role not in PROPOSERS:
        raise Forbidden(code="role_not_allowed")
    if p.status != "draft":
        if p.status in APPROVED:
            raise PassportLocked()
        raise PassportLocked(
            f"Документ в состоянии «{PASSPORT_LABELS[p.status]}»: изменить его можно только "
            "после возврата в черновик.",
        )
    clean = parse_body(body)
    try:
        await session.execute(update(Passport).where(Passport.id == p.id).values(body=clean))
    except IntegrityError as exc:  # the trigger: a concurrent approval got there first
        raise PassportLocked() from exc
    await record_audit(session, actor_of(user), "edit", "passport", str(p.id), p.body, clean)


async def transition_passport(
    session: AsyncSession, user: User, passport_id: int, to: str, comment: str = ""
) -> Passport:
    p = (
        await session.scalars(
            select(Passport)
            .where(Passport.id == passport_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).first()
    if p is None:
        raise NotFound("Документ не найден.")
    step = PASSPORT_STEPS.get((p.status, to))
    if step is None:
        raise TransitionConflict(
            f"Документ в состоянии «{PASSPORT_LABELS[p.status]}» нельзя перевести в "
            f"«{PASSPORT_LABELS.get(to, to)}»."
        )
    if Role(user.role) not in step.roles:
        raise Forbidden(f"Действие «{step.label}» выполняет другая роль.", code="role_not_allowed")
    if step.comment_required and not comment.strip():
        raise ValidationFailed("Укажите причину возврата.", code="comment_required")
    if (p.status, to) == ("expertise", "wg_approved") and p.subject_kind == "service":
        mszu = await session.scalar(select(Service.is_mszu).where(Service.code == p.subject_code))
        if mszu and p.doc in ("target", "standard"):
            raise TransitionConflict(
                "Для массовой социально значимой услуги документ сначала согласует Минцифры России."
            )
    before = p.status
    values: dict[str, Any] = {"status": to}
    if to == "draft":
        values["return_reason"] = comment.strip()
    if to == "approved":
        values["approved_at"] = func.now()
    if to == "in_force":
        await session.execute(
            update(Passport)
            .where(
                Passport.subject_kind == p.subject_kind,
                Passport.subject_code == p.subject_code,
                Passport.doc == p.doc,
                func.coalesce(Passport.region_code, "") == (p.region_code or ""),
                Passport.status == "in_force",
            )
            .values(status="superseded")
        )
    await session.execute(update(Passport).where(Passport.id == p.id).values(**values))
    await _event(session, user, p.id, "transition", before, to, comment.strip())
    await record_audit(
        session,
        actor_of(user),
        "transition",
        "passport",
        str(p.id),
        {"status": before},
        {"status": to},
    )
    return await get(session, p.id)


async def _event(
    session: AsyncSession,
    user: User,
    pid: int,
    action: str,
    frm: str | None,
    to: str | None,
    comment: str,
) -> None:
    session.add(
        ImprovementEvent(
            entity="passport", entity_id=pid, actor_user_id=user.id, actor_label=user.email,
            action=action, from_state=frm, to_state=to, comment=comment[:4000],
        )
    )  # fmt: skip
    await session.flush()


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(
            Goal.model_validate(v).text() if isinstance(v, dict) else CHANNELS.get(str(v), str(v))
            for v in value
        )
    if isinstance(value, float):
        return fmt.num(value, 2, trim=True)
    return "" if value is None else str(value)


def diff(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """Side by side, field by field: for lists, what was removed and what was added."""
    rows = []
    for key, label in FIELD_LABELS.items():
        va, vb = a.get(key), b.get(key)
        row: dict[str, Any] = {"field": label, "a": _show(va), "b": _show(vb), "changed": va != vb}
        if isinstance(va, list) and isinstance(vb, list):
            sa, sb = [_show([x]) for x in va], [_show([x]) for x in vb]
            row["removed"] = [x for x in sa if x not in sb]
            row["added"] = [x for x in sb if x not in sa]
        rows.append(row)
    return rows


def deviations(regional: dict[str, Any], typical: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in diff(typical, regional) if r["changed"]]
