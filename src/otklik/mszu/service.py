"""The МСЗУ list workflow: draft (analyst) → agreed (Минцифры) → approved (subcommission)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import Forbidden, NotFound, ValidationFailed
from otklik.identity import audit_labels
from otklik.identity.audit import Actor, record_audit
from otklik.identity.roles import Role
from otklik.kit.clock import MOSCOW
from otklik.mszu import repository
from otklik.mszu.models import MODES, MszuListVersion

MODE_LABELS = {
    "electronic": "в электронном виде",
    "proactive": "проактивно",
    "on_request": "по запросу (заявлению)",
}
audit_labels.register_values(MODE_LABELS)
STATUS_LABELS = {
    "draft": "проект",
    "agreed": "согласован Минцифры",
    "approved": "утверждён подкомиссией",
    "superseded": "заменён новой версией",
}


class WorkflowError(ValidationFailed):
    status_code = 409
    code = "invalid_transition"


@dataclass(frozen=True)
class Diff:
    added: list[tuple[str, str]]  # (service, mode)
    removed: list[tuple[str, str]]
    changed: list[tuple[str, str, str]]  # (service, old mode, new mode)


def _today() -> date:
    return datetime.now(MOSCOW).date()


def _require(role: str, *allowed: Role) -> None:
    if role not in {r.value for r in allowed}:
        raise Forbidden()


async def _get(session: AsyncSession, number: int) -> MszuListVersion:
    v = await repository.version(session, number, lock=True)
    if v is None:
        raise NotFound(f"Версии перечня МСЗУ № {number} нет.")
    return v


def default_mode(online: bool, proactive: bool) -> str:
    return "proactive" if proactive else "electronic" if online else "on_request"


async def check_items(session: AsyncSession, items: dict[str, str]) -> dict[str, str]:
    """Known services, known modes, at least one item; a precise message otherwise."""
    if not items:
        raise ValidationFailed("Перечень не может быть пустым: добавьте хотя бы одну услугу.")
    known = await repository.service_names(session)
    unknown = sorted(c for c in items if c not in known)
    if unknown:
        raise ValidationFailed(
            "Услуги нет в реестре: " + ", ".join(unknown[:10]) + ".", code="unknown_service"
        )
    bad = sorted(c for c, m in items.items() if m not in MODES)
    if bad:
        raise ValidationFailed(
            f"Способ предоставления услуги {bad[0]}: одно из значений "
            "electronic (в электронном виде), proactive (проактивно), on_request (по запросу).",
            code="invalid_mode",
        )
    return dict(sorted(items.items()))


async def create_draft(
    session: AsyncSession, actor: Actor, role: str, items: dict[str, str] | None, note: str = ""
) -> MszuListVersion:
    """A new draft: the given items, else a copy of the approved list, else the registry flags."""
    _require(role, Role.analyst)
    number = await repository.next_number(session)
    open_ = await repository.open_version(session)
    if open_ is not None:
        raise WorkflowError(
            f"Версия № {open_.number} ещё не утверждена ({STATUS_LABELS[open_.status]}): "
            "доработайте её, новый проект создать нельзя.",
            code="open_version_exists",
        )
    if items is None:
        approved = await repository.current_approved(session)
        if approved is not None:
            items = await repository.items(session, approved.number)
        else:
            items = {
                s.code: default_mode(s.online, s.proactive)
                for s in await repository.services(session)
                if s.is_mszu
            }
    items = await check_items(session, items)
    v = MszuListVersion(number=number, status="draft", note=note[:2000], created_by=actor.label)
    session.add(v)
    await session.flush()
    await repository.replace_items(session, number, items)
    await record_audit(session, actor, "create", "mszu_list", str(number), None, {"items": items})
    return v


async def update_items(
    session: AsyncSession, actor: Actor, role: str, number: int, items: dict[str, str]
) -> None:
    _require(role, Role.analyst)
    v = await _get(session, number)
    if v.status != "draft":
        raise WorkflowError("Изменять можно только проект перечня.", code="not_a_draft")
    items = await check_items(session, items)
    before = await repository.items(session, number)
    await repository.replace_items(session, number, items)
    await record_audit(
        session, actor, "update", "mszu_list", str(number), {"items": before}, {"items": items}
    )


async def agree(session: AsyncSession, actor: Actor, role: str, number: int) -> None:
    """Минцифры agrees a draft."""
    _require(role, Role.portal_operator)
    v = await _get(session, number)
    if v.status != "draft":
        raise WorkflowError("Согласовать можно только проект перечня.", code="not_a_draft")
    v.status, v.agreed_by, v.agreed_at, v.returned_reason = "agreed", actor.label, _now(), None
    await session.flush()
    await record_audit(
        session, actor, "agree", "mszu_list", str(number), {"status": "draft"}, {"status": "agreed"}
    )


async def approve(
    session: AsyncSession,
    actor: Actor,
    role: str,
    number: int,
    protocol: str,
    decision_date: date | None,
) -> None:
    """The subcommission's secretary records its approval; the previous list is superseded."""
    _require(role, Role.subcommission_secretary)
    v = await _get(session, number)
    if v.status != "agreed":
        raise WorkflowError(
            "Утвердить можно только перечень, согласованный Минцифры.", code="not_agreed"
        )
    protocol = protocol.strip()
    if not protocol or len(protocol) > 60:
        raise ValidationFailed(
            "Укажите номер протокола заседания подкомиссии (до 60 символов).", code="protocol"
        )
    if decision_date is None or decision_date > _today():
        raise ValidationFailed(
            "Укажите дату решения подкомиссии; она не может быть позже сегодняшнего дня.",
            code="decision_date",
        )
    previous = await repository.current_approved(session)
    if previous is not None:
        previous.status = "superseded"
    v.status, v.approved_by, v.approved_at = "approved", actor.label, _now()
    v.protocol_number, v.decision_date = protocol, decision_date
    await session.flush()
    await record_audit(
        session,
        actor,
        "approve",
        "mszu_list",
        str(number),
        {"status": "agreed"},
        {"status": "approved", "protocol": protocol, "decision_date": decision_date.isoformat()},
    )


async def return_to_draft(
    session: AsyncSession, actor: Actor, role: str, number: int, reason: str
) -> None:
    """Минцифры returns a draft, the subcommission an agreed list: back to draft with a reason."""
    v = await _get(session, number)
    allowed = Role.portal_operator if v.status == "draft" else Role.subcommission_secretary
    if v.status not in ("draft", "agreed"):
        raise WorkflowError("Утверждённую версию вернуть нельзя.", code="immutable")
    _require(role, allowed)
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("Укажите причину возврата на доработку.", code="reason_required")
    before = v.status
    v.status, v.returned_reason, v.agreed_by, v.agreed_at = "draft", reason[:2000], None, None
    await session.flush()
    await record_audit(
        session,
        actor,
        "return",
        "mszu_list",
        str(number),
        {"status": before},
        {"status": "draft", "reason": reason[:2000]},
    )


def _now() -> datetime:
    return datetime.now(UTC)


async def diff(session: AsyncSession, old: int, new: int) -> Diff:
    for n in (old, new):
        if await repository.version(session, n) is None:
            raise NotFound(f"Версии перечня МСЗУ № {n} нет.")
    a, b = await repository.items(session, old), await repository.items(session, new)
    return Diff(
        added=sorted((c, m) for c, m in b.items() if c not in a),
        removed=sorted((c, m) for c, m in a.items() if c not in b),
        changed=sorted((c, a[c], m) for c, m in b.items() if c in a and a[c] != m),
    )


async def in_force_codes(session: AsyncSession) -> set[str] | None:
    """Services of the approved list; ``None`` when nothing is approved yet."""
    v = await repository.current_approved(session)
    return set(await repository.items(session, v.number)) if v else None


def parse_trajectory(text_: str) -> dict[int, float]:
    """Lines ``year;share`` (share 0–1 or a percent such as ``87,5 %``), at least two years."""
    points: dict[int, float] = {}
    for n, line in enumerate(text_.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.replace("\t", ";").split(";")]
        try:
            year = int(parts[0])
            raw = parts[1].replace(",", ".").replace("%", "").strip()
            value = float(raw) / (100 if "%" in parts[1] or float(raw) > 1 else 1)
        except (ValueError, IndexError):
            raise ValidationFailed(
                f"Строка {n}: ожидается «год;доля», например «2027;0,8» или «2027;80\u00a0%».",
                code="bad_trajectory",
            ) from None
        if not 2020 <= year <= 2040 or not 0 <= value <= 1 or year in points:
            raise ValidationFailed(
                f"Строка {n}: год 2020–2040 без повторов, доля от 0 до 1 (0–100\u00a0%).",
                code="bad_trajectory",
            )
        points[year] = round(value, 4)
    if len(points) < 2:
        raise ValidationFailed("Траектория: не меньше двух лет.", code="bad_trajectory")
    return points


async def upload_trajectory(
    session: AsyncSession, actor: Actor, role: str, text_: str
) -> dict[int, float]:
    """A coordinator replaces the default linear trajectory (audited; empty text restores it)."""
    _require(role, Role.coordinator)
    points = parse_trajectory(text_) if text_.strip() else {}
    before = await repository.trajectory(session)
    await repository.replace_trajectory(session, points, actor.label)
    await record_audit(
        session,
        actor,
        "update",
        "mszu_trajectory",
        "national",
        {str(k): v for k, v in before.items()},
        {str(k): v for k, v in points.items()},
    )
    return points
