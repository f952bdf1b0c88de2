"""Change-request rules: creation with evidence, role-gated transitions, timeline, notifications.

The public API other domains use (keep it stable):

- ``create_change_request(session, actor, *, subject_kind, subject_code, title, problem,
  evidence=[(kind, ref)], owner_user_id=None, owner_label="", hypothesis=None, change=None,
  planned_release=None, organization_id=None, region_code=None) -> ChangeRequest``
- ``transition(session, actor, cr_id, to, comment="", outcome=None, expected_version=None)``
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import DomainError, Forbidden, NotFound, ValidationFailed
from otklik.identity.audit import Actor
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.identity.service import scope_of
from otklik.improvement import repository
from otklik.improvement.evidence import resolve_evidence
from otklik.improvement.models import CR_OUTCOMES, CR_STATES, SUBJECT_KINDS, ChangeRequest
from otklik.improvement.workflow import (
    CR_LABELS,
    CR_STEPS,
    OUTCOME_LABELS,
    OWNER_STATES,
    PROPOSERS,
    next_roles,
)
from otklik.kit.scope import ScopeKind


class TransitionConflict(DomainError):
    status_code = 409
    code = "transition_not_allowed"
    message = "Этот переход недоступен из текущего состояния запроса."


@dataclass(frozen=True)
class Hypothesis:
    indicator: str
    unit: str
    from_value: Decimal
    to_value: Decimal
    by: date


def actor_of(user: User) -> Actor:
    return Actor(user.id, user.email)


async def check_subject(session: AsyncSession, kind: str, code: str) -> str:
    """The subject's name; an unknown kind or code is a precise 422."""
    if kind not in SUBJECT_KINDS:
        raise ValidationFailed(
            "Вид объекта улучшения: service (услуга) или life_situation (жизненная ситуация).",
            code="unknown_subject_kind",
        )
    name = await repository.subject_name(session, kind, code)
    if name is None:
        what = "Услуга" if kind == "service" else "Жизненная ситуация"
        raise ValidationFailed(
            f"{what} с кодом «{code[:100]}» не найдена в реестре.", code="unknown_subject"
        )
    return name


async def _location(
    session: AsyncSession, user: User, organization_id: int | None, region_code: str | None
) -> dict[str, Any]:
    """Where in the country the request lies: inside the creator's scope, never outside."""
    scope = scope_of(user)
    if organization_id is not None:
        org = await repository.organization(session, organization_id)
        if org is None:
            raise ValidationFailed("Организация не найдена.", code="unknown_organization")
        inside = (
            scope.kind is ScopeKind.country
            or (scope.kind is ScopeKind.organization and scope.organization_id == org.id)
            or (scope.kind is ScopeKind.region and scope.region_code == org.region_code)
            or (scope.kind is ScopeKind.founder and scope.founder_id == org.founder_id)
        )
        if not inside:  # as if it did not exist: the answer tells nobody which ids exist
            raise ValidationFailed("Организация не найдена.", code="unknown_organization")
        return {
            "organization_id": org.id,
            "region_code": org.region_code,
            "founder_id": org.founder_id,
        }
    if region_code is not None and scope.kind in (ScopeKind.country, ScopeKind.region):
        if scope.kind is ScopeKind.region and scope.region_code != region_code:
            raise Forbidden("Субъект РФ вне вашей области доступа.", code="out_of_scope")
        return {"organization_id": None, "region_code": region_code, "founder_id": None}
    org = None
    if scope.kind is ScopeKind.organization:
        org = await repository.organization(session, scope.organization_id or 0)
    if org is not None:
        return {
            "organization_id": org.id,
            "region_code": org.region_code,
            "founder_id": org.founder_id,
        }
    return {
        "organization_id": None,
        "region_code": scope.region_code,
        "founder_id": scope.founder_id,
    }


def _hypothesis_values(h: Hypothesis | None) -> dict[str, Any]:
    if h is None:
        return {}
    if not h.indicator.strip():
        raise ValidationFailed("В гипотезе не указан показатель.", code="bad_hypothesis")
    if h.from_value == h.to_value:
        raise ValidationFailed(
            "В гипотезе ожидаемое значение должно отличаться от исходного.", code="bad_hypothesis"
        )
    return {
        "hyp_indicator": h.indicator.strip()[:60],
        "hyp_unit": h.unit.strip()[:40],
        "hyp_from": h.from_value,
        "hyp_to": h.to_value,
        "hyp_by": h.by,
    }


async def create_change_request(
    session: AsyncSession,
    actor: User,
    *,
    subject_kind: str,
    subject_code: str,
    title: str,
    problem: str,
    evidence: Sequence[tuple[str, str]] = (),
    owner_user_id: int | None = None,
    owner_label: str = "",
    hypothesis: Hypothesis | None = None,
    change: dict[str, Any] | None = None,
    planned_release: date | None = None,
    organization_id: int | None = None,
    region_code: str | None = None,
) -> ChangeRequest:
    """A new request in ``draft``, with its evidence snapshotted; flushes, never commits."""
    if actor.role not in PROPOSERS:
        raise Forbidden(
            "Создавать запросы на изменение могут участники эксперимента, "
            "Аналитический центр, лаборатории и координатор.",
            code="role_not_allowed",
        )
    title, problem = title.strip(), problem.strip()
    if not title or not problem:
        raise ValidationFailed(
            "Укажите название запроса и описание проблемы.", code="missing_fields"
        )
    await check_subject(session, subject_kind, subject_code)
    location = await _location(session, actor, organization_id, region_code)
    snapshots = [
        await resolve_evidence(session, scope_of(actor), kind, ref) for kind, ref in evidence
    ]
    cr = ChangeRequest(
        title=title[:300],
        problem=problem,
        subject_kind=subject_kind,
        subject_code=subject_code,
        owner_user_id=owner_user_id if owner_user_id is not None else actor.id,
        owner_label=owner_label or actor.full_name or actor.email,
        change=change or {},
        planned_release=planned_release,
        created_by=actor.id,
        **location,
        **_hypothesis_values(hypothesis),
    )
    session.add(cr)
    await session.flush()
    await repository.add_evidence(session, cr.id, snapshots)
    await repository.log(
        session, cr.id, actor, "created", to_state="draft",
        audit=("create", None, {"title": title}),
    )  # fmt: skip
    return cr


async def transition(
    session: AsyncSession,
    actor: User,
    cr_id: int,
    to: str,
    comment: str = "",
    outcome: str | None = None,
    expected_version: int | None = None,
) -> ChangeRequest:
    """Move a request to ``to``: 409 when not allowed from its state (or changed meanwhile),
    403 when the actor's role may not. The row is locked, so of two concurrent attempts
    exactly one passes; the other sees the new state and gets 409."""
    if to not in CR_STATES:
        raise ValidationFailed(f"Неизвестное состояние «{to[:40]}».", code="unknown_state")
    cr = await repository.lock(session, scope_of(actor), cr_id)
    if cr is None:
        raise NotFound("Запрос на изменение не найден или вне вашей области доступа.")
    if expected_version is not None and expected_version != cr.version:
        raise TransitionConflict(
            "Запрос уже изменил кто-то другой. Обновите страницу и проверьте его состояние.",
            code="stale_version",
            state=cr.state,
        )
    step = CR_STEPS.get((cr.state, to))
    if step is None:
        raise TransitionConflict(
            f"Переход из состояния «{CR_LABELS[cr.state]}» в «{CR_LABELS[to]}» невозможен.",
            state=cr.state,
        )
    if Role(actor.role) not in step.roles:
        raise Forbidden(f"Переход «{step.label}» выполняет другая роль.", code="role_not_allowed")
    comment = comment.strip()
    if step.comment_required and not comment:
        raise ValidationFailed("Укажите причину в комментарии.", code="comment_required")
    if to == "closed":
        await _require_effect(session, cr.id, outcome, comment)
    if to == "released":
        await _require_passed_check(session, cr.id)
    await repository.apply_transition(
        session, cr, actor, to, comment, outcome if to == "closed" else None, _mail(cr, to)
    )
    if to == "control_check":
        from otklik.improvement.checks import open_round  # checks builds on this module

        await open_round(session, cr)
    return cr


async def _require_effect(
    session: AsyncSession, cr_id: int, outcome: str | None, comment: str
) -> None:
    """A request is closed with its measured effect, or with a recorded reason why the effect
    cannot be assessed (then the conclusion can only be "inconclusive")."""
    if outcome not in CR_OUTCOMES:
        raise ValidationFailed(
            "Для закрытия укажите вывод об эффекте: confirmed, not_confirmed или inconclusive.",
            code="outcome_required",
        )
    verdict = await repository.effect_verdict(session, cr_id)
    if verdict is not None and verdict != "pending":
        if outcome != verdict:
            raise TransitionConflict(
                f"Вывод при закрытии должен совпадать с оценкой эффекта: "
                f"«{OUTCOME_LABELS[verdict]}».",
                code="outcome_mismatch",
            )
        return
    if not comment:
        raise TransitionConflict(
            "Запрос закрывается только после оценки эффекта"
            + (", а она ещё не завершена" if verdict == "pending" else "")
            + ". Если эффект оценить нельзя, укажите причину в комментарии.",
            code="assessment_required",
        )
    if outcome != "inconclusive":
        raise TransitionConflict(
            "Без оценки эффекта вывод может быть только «недостаточно данных» (inconclusive).",
            code="assessment_required",
        )


async def _require_passed_check(session: AsyncSession, cr_id: int) -> None:
    items = await repository.check_items(session, cr_id)
    if not items or any(i.result != "pass" for i in items):
        raise TransitionConflict(
            "Выпуск возможен только после контрольной проверки, в которой пройдены все пункты.",
            code="control_check_not_passed",
        )


def _mail(cr: ChangeRequest, state: str) -> dict[str, Any]:
    """The e-mail (outbox row, same statement as the transition) to everyone who must act
    next: in the owner's own step only the owner; nobody when the request is finished."""
    roles = next_roles(state)
    return {
        "subject": f"Запрос на изменение № {cr.id}: {CR_LABELS[state].lower()}"[:300],
        "text": f"Запрос «{cr.title}» перешёл в состояние «{CR_LABELS[state]}» "
        "и ждёт вашего решения.",
        "link": f"/improvement/changes/{cr.id}",
        "roles": sorted(r.value for r in roles),
        "owner_only": bool(roles) and state in OWNER_STATES,
    }


async def comment_on(session: AsyncSession, actor: User, cr_id: int, text: str) -> None:
    cr = await repository.get(session, scope_of(actor), cr_id)
    if cr is None:
        raise NotFound("Запрос на изменение не найден или вне вашей области доступа.")
    text = text.strip()
    if not text:
        raise ValidationFailed("Комментарий пуст.", code="empty_comment")
    await repository.log(session, cr.id, actor, "comment", text)


async def edit_content(
    session: AsyncSession,
    actor: User,
    cr_id: int,
    *,
    title: str,
    problem: str,
    change: dict[str, Any],
    hypothesis: Hypothesis | None,
    planned_release: date | None,
) -> None:
    """Change the content of a request in ``draft`` or ``returned`` (by the proposer side)."""
    from otklik.improvement.workflow import EDITABLE

    if actor.role not in PROPOSERS:
        raise Forbidden("Содержание запроса меняет его владелец.", code="role_not_allowed")
    cr = await repository.lock(session, scope_of(actor), cr_id)
    if cr is None:
        raise NotFound("Запрос на изменение не найден или вне вашей области доступа.")
    if cr.state not in EDITABLE:
        raise TransitionConflict(
            f"Запрос в состоянии «{CR_LABELS[cr.state]}»: содержание меняется только в "
            "черновике или после возврата на доработку.",
            code="request_locked",
        )
    title, problem = title.strip(), problem.strip()
    if not title or not problem:
        raise ValidationFailed(
            "Укажите название запроса и описание проблемы.", code="missing_fields"
        )
    values: dict[str, Any] = {
        "title": title[:300],
        "problem": problem,
        "change": change,
        "planned_release": planned_release,
        "hyp_indicator": None, "hyp_unit": None, "hyp_from": None, "hyp_to": None, "hyp_by": None,
        **_hypothesis_values(hypothesis),
    }  # fmt: skip
    before = {"title": cr.title, "problem": cr.problem}
    await repository.bump(session, cr, **values)
    await repository.log(
        session, cr.id, actor, "edited", "Содержание изменено",
        audit=("edit", before, {"title": values["title"], "problem": problem}),
    )  # fmt: skip


async def link_evidence(
    session: AsyncSession, actor: User, cr_id: int, kind: str, ref: str
) -> ChangeRequest:
    """Join one more source to an existing request (e.g. a lab finding); a link already
    present is not added twice."""
    cr = await repository.get(session, scope_of(actor), cr_id)
    if cr is None:
        raise NotFound("Запрос на изменение не найден или вне вашей области доступа.")
    if cr.state == "closed":
        raise TransitionConflict("Закрытый запрос нельзя дополнить.", state=cr.state)
    existing = (await repository.evidence_of(session, [cr.id])).get(cr.id, [])
    if any(e.kind == kind and e.ref == ref for e in existing):
        return cr
    await repository.add_evidence(
        session, cr.id, [await resolve_evidence(session, scope_of(actor), kind, ref)]
    )
    await repository.log(session, cr.id, actor, "evidence", f"{kind}:{ref}")
    return cr
