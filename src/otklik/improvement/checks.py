"""Control check before release (§7к): a checklist from the target state's goals."""

from __future__ import annotations

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import Forbidden, NotFound, ValidationFailed
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.identity.service import scope_of
from otklik.improvement import repository
from otklik.improvement.models import ChangeRequest, ControlCheckItem, Passport
from otklik.improvement.passports import Goal
from otklik.improvement.service import TransitionConflict, transition
from otklik.kit import fmt

GENERIC = "Процедура реализована так, как описано в запросе"


async def target_goals(session: AsyncSession, cr: ChangeRequest) -> list[str]:
    """The goals of the subject's target state (the region's own, else the typical one)."""
    stmt = (
        select(Passport.body)
        .where(
            Passport.subject_kind == cr.subject_kind,
            Passport.subject_code == cr.subject_code,
            Passport.doc == "target",
            Passport.status.in_(("in_force", "approved")),
            (Passport.region_code == cr.region_code) | Passport.region_code.is_(None),
        )
        .order_by(Passport.region_code.is_(None), Passport.version.desc())
        .limit(1)
    )
    body = await session.scalar(stmt)
    goals = [Goal.model_validate(g).text() for g in (body or {}).get("goals", [])]
    if cr.hyp_indicator:
        unit = cr.hyp_unit or ""
        start, end = (fmt.num(v, 2, trim=True) for v in (cr.hyp_from, cr.hyp_to))
        goals.append(f"Гипотеза: {cr.hyp_indicator} {start} → {end} {unit}".strip())
    return [GENERIC, *goals]


async def open_round(session: AsyncSession, cr: ChangeRequest) -> None:
    """A fresh checklist each time the request comes to the control check."""
    last = await session.scalar(
        select(func.coalesce(func.max(ControlCheckItem.round), 0)).where(
            ControlCheckItem.change_request_id == cr.id
        )
    )
    goals = await target_goals(session, cr)
    await session.execute(
        insert(ControlCheckItem).values(
            [
                {
                    "change_request_id": cr.id,
                    "round": int(last or 0) + 1,
                    "position": i,
                    "goal": g[:200],
                }
                for i, g in enumerate(goals)
            ]
        )
    )


async def record(
    session: AsyncSession, user: User, cr_id: int, results: dict[int, tuple[str, str]]
) -> str:
    """Record pass / fail with evidence for every item; any fail returns the request to
    implementation. Returns the request's state afterwards."""
    if user.role != Role.analyst:
        raise Forbidden(
            "Контрольную проверку проводит Аналитический центр.", code="role_not_allowed"
        )
    cr = await repository.lock(session, scope_of(user), cr_id)
    if cr is None:
        raise NotFound("Запрос на изменение не найден или вне вашей области доступа.")
    if cr.state != "control_check":
        raise TransitionConflict("Запрос сейчас не на контрольной проверке.")
    items = await repository.check_items(session, cr.id)
    if not items:
        raise TransitionConflict("Чек-лист проверки не сформирован.")
    for item in items:
        result, evidence = results.get(item.id, ("", ""))
        if result not in ("pass", "fail"):
            raise ValidationFailed(
                f"Отметьте результат пункта «{item.goal}».", code="check_incomplete"
            )
        if result == "fail" and not evidence.strip():
            raise ValidationFailed(
                f"Для непройденного пункта «{item.goal}» опишите, что не выполнено.",
                code="evidence_required",
            )
    for item in items:
        result, evidence = results[item.id]
        await session.execute(
            update(ControlCheckItem)
            .where(ControlCheckItem.id == item.id)
            .values(
                result=result,
                evidence=evidence.strip()[:4000],
                checked_by=user.id,
                checked_at=func.now(),
            )
        )
    failed = [i.goal for i in items if results[i.id][0] == "fail"]
    if failed:
        await transition(
            session,
            user,
            cr.id,
            "implementation",
            "Не пройдены пункты проверки: " + "; ".join(failed),
        )
        return "implementation"
    return "control_check"
