"""Incident rules: the detection job, opening by hand, moves with SLA clocks, review."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import DomainError, NotFound, ValidationFailed
from otklik.identity.audit import Actor, record_audit
from otklik.identity.models import User
from otklik.identity.roles import Role, ScopeKind
from otklik.incidents import repository
from otklik.incidents.models import Incident
from otklik.incidents.rules import OPEN, TRANSITIONS, sla
from otklik.indicators.repository import MOSCOW
from otklik.kit.scope import Scope

SUBJECT_RE = re.compile(r"^[a-z_]{2,20}:[A-Za-z0-9_.\-]{1,100}$")


class IncidentConflict(DomainError):
    status_code = 409
    code = "incident_conflict"
    message = "Действие невозможно в текущем состоянии инцидента."


def _snapshot(i: Incident) -> dict[str, Any]:
    return {"state": i.state, "severity": i.severity, "owner_user_id": i.owner_user_id}


async def detect(session: AsyncSession, now: datetime, batch: int = 50_000) -> dict[str, int]:
    """One run of the job: new signals grouped into incidents, then SLA warnings and breaches."""
    found = await repository.detect_batch(session, now, batch)
    found["sla_events"] = await repository.check_sla(session, now)
    return found


async def open_manual(
    session: AsyncSession,
    scope: Scope,
    actor: Actor,
    now: datetime,
    *,
    title: str,
    subject: str,
    severity: int,
    organization_id: int | None,
    region_code: str | None,
    description: str = "",
) -> Incident:
    """Open an incident by hand for an organization (or a region) inside the opener's scope."""
    title = title.strip()
    if not 5 <= len(title) <= 300:
        raise ValidationFailed("Название инцидента: от 5 до 300 символов.", code="bad_title")
    if not SUBJECT_RE.match(subject):
        raise ValidationFailed(
            "Предмет инцидента указывается как вид:код, например service:health.outpatient_visit.",
            code="bad_subject",
        )
    if severity not in (1, 2, 3, 4):
        raise ValidationFailed("Уровень инцидента — число от 1 до 4.", code="bad_severity")
    if organization_id is not None:
        place = await repository.organization_place(session, scope, organization_id)
        if place is None:
            raise NotFound(
                "Организация не найдена или вне вашей области доступа.", code="out_of_scope"
            )
        org, region, founder = place.id, place.region_code, place.founder_id
        cause = f"org:{org}:{subject}"
    elif region_code:
        if scope.kind is not ScopeKind.country and scope.region_code != region_code:
            raise NotFound("Регион вне вашей области доступа.", code="out_of_scope")
        org, region, founder = None, region_code, None
        cause = f"region:{region_code}:{subject}"
    else:
        raise ValidationFailed("Укажите организацию или регион.", code="no_place")
    existing = await repository.open_with_cause(session, cause)
    if existing:
        raise IncidentConflict(
            f"По этой причине уже открыт инцидент № {existing}: дополните его.",
            code="duplicate_incident",
            incident_id=existing,
        )
    ack, resolve = sla(severity)
    incident = Incident(
        title=title,
        source="manual",
        cause_key=cause,
        subject=subject,
        organization_id=org,
        region_code=region,
        founder_id=founder,
        severity=severity,
        severity_rule="уровень указан вручную",
        state="new",
        opened_at=now,
        ack_due=now + ack,
        resolve_due=now + resolve,
    )
    session.add(incident)
    await session.flush()
    await repository.add_event(
        session,
        incident_id=incident.id,
        at=now,
        kind="opened",
        actor=actor.label,
        to_state="new",
        comment=description.strip()[:2000],
    )
    await record_audit(
        session, actor, "incident.open", "incident", str(incident.id), None, _snapshot(incident)
    )
    return incident


async def _load(session: AsyncSession, scope: Scope, incident_id: int) -> Incident:
    incident = await repository.get_for_update(session, scope, incident_id)
    if incident is None:
        raise NotFound("Инцидент не найден или вне вашей области доступа.")
    return incident


async def transition(
    session: AsyncSession,
    scope: Scope,
    actor: Actor,
    now: datetime,
    incident_id: int,
    action: str,
    comment: str = "",
) -> Incident:
    """Move an incident; waiting stops the resolution clock and resuming shifts its due time."""
    if action not in TRANSITIONS:
        raise ValidationFailed(
            f"Неизвестное действие «{action[:40]}». Допустимо: {', '.join(TRANSITIONS)}.",
            code="bad_action",
        )
    sources, target, needs_comment, label = TRANSITIONS[action]
    comment = comment.strip()[:2000]
    if needs_comment and not comment:
        raise ValidationFailed(
            f"Для действия «{label}» нужен комментарий.", code="comment_required"
        )
    incident = await _load(session, scope, incident_id)
    if incident.state not in sources:
        raise IncidentConflict(
            f"Действие «{label}» невозможно: инцидент в состоянии «{incident.state}»."
        )
    before = _snapshot(incident)
    if incident.acknowledged_at is None:
        incident.acknowledged_at = now
    if incident.paused_at is not None:  # leaving ``waiting``: the clock resumes
        incident.resolve_due += now - incident.paused_at
        incident.paused_at = None
    if target == "waiting":
        incident.paused_at = now
    if target == "resolved":
        incident.resolved_at = now
    if action == "reopen":
        incident.resolved_at = None
        incident.reopened += 1
    if target == "closed":
        incident.closed_at = now
    from_state, incident.state = incident.state, target
    await session.flush()
    await repository.add_event(
        session,
        incident_id=incident.id,
        at=now,
        kind=action,
        actor=actor.label,
        from_state=from_state,
        to_state=target,
        comment=comment,
    )
    await record_audit(
        session,
        actor,
        f"incident.{action}",
        "incident",
        str(incident.id),
        before,
        _snapshot(incident),
    )
    return incident


async def decide(
    session: AsyncSession,
    actor: Actor,
    now: datetime,
    incident_id: int,
    *,
    meeting_date: date,
    protocol: str,
    decision: str,
) -> Incident:
    """Record the subcommission's decision on an escalated incident (its secretary does)."""
    protocol, decision = protocol.strip(), decision.strip()
    if not protocol or len(protocol) > 50:
        raise ValidationFailed("Укажите номер протокола (до 50 символов).", code="bad_protocol")
    if not 5 <= len(decision) <= 4000:
        raise ValidationFailed("Текст решения: от 5 до 4000 символов.", code="bad_decision")
    if meeting_date > now.astimezone(MOSCOW).date():  # the secretary's calendar day
        raise ValidationFailed("Дата заседания не может быть в будущем.", code="bad_meeting_date")
    incident = await _load(session, Scope.country(), incident_id)
    if incident.state != "escalated":
        raise IncidentConflict(
            "Решение записывается только по инциденту, переданному в подкомиссию."
        )
    before = _snapshot(incident)
    incident.decision = {
        "meeting_date": meeting_date.isoformat(),
        "protocol": protocol,
        "decision": decision,
        "recorded_by": actor.label,
        "recorded_at": now.isoformat(),
    }
    incident.state = "in_progress"
    await session.flush()
    await repository.add_event(
        session,
        incident_id=incident.id,
        at=now,
        kind="decision",
        actor=actor.label,
        from_state="escalated",
        to_state="in_progress",
        comment=decision,
        data={"meeting_date": meeting_date.isoformat(), "protocol": protocol},
    )
    await record_audit(
        session,
        actor,
        "incident.decision",
        "incident",
        str(incident.id),
        before,
        _snapshot(incident),
    )
    return incident


def covers(user: User, incident: Incident) -> bool:
    """Whether a participant's scope covers the incident (and so may own it)."""
    if user.scope_kind == ScopeKind.country:
        return True
    if user.scope_kind == ScopeKind.organization:
        return (
            incident.organization_id is not None
            and user.scope_organization_id == incident.organization_id
        )
    if user.scope_kind == ScopeKind.region:
        return user.scope_region_code == incident.region_code
    if user.scope_kind == ScopeKind.founder:
        return incident.founder_id is not None and user.scope_founder_id == incident.founder_id
    return False


async def assign_owner(
    session: AsyncSession, scope: Scope, actor: Actor, now: datetime, incident_id: int, email: str
) -> Incident:
    """Make a participant whose scope covers the incident its owner."""
    incident = await _load(session, scope, incident_id)
    if incident.state not in OPEN:
        raise IncidentConflict("Владельца можно назначить только открытому инциденту.")
    owner = (
        await session.scalars(select(User).where(User.email == email.strip().lower()))
    ).one_or_none()
    if owner is None or owner.role != Role.participant or not owner.is_active:
        raise ValidationFailed(
            "Владельцем может быть только активный участник эксперимента.", code="bad_owner"
        )
    if not covers(owner, incident):
        raise ValidationFailed(
            "Область доступа этого участника не охватывает инцидент.", code="owner_out_of_scope"
        )
    before = _snapshot(incident)
    incident.owner_user_id = owner.id
    await session.flush()
    await repository.add_event(
        session,
        incident_id=incident.id,
        at=now,
        kind="owner",
        actor=actor.label,
        comment=owner.email,
    )
    await record_audit(
        session, actor, "incident.owner", "incident", str(incident.id), before, _snapshot(incident)
    )
    return incident


async def write_review(
    session: AsyncSession,
    scope: Scope,
    actor: Actor,
    now: datetime,
    incident_id: int,
    *,
    cause: str,
    actions: str,
    change_needed: bool,
) -> Incident:
    """The short review after close: cause, what was done, whether a change is needed."""
    cause, actions = cause.strip(), actions.strip()
    if not 5 <= len(cause) <= 4000 or not 5 <= len(actions) <= 4000:
        raise ValidationFailed(
            "Опишите причину и принятые меры (каждое — от 5 до 4000 символов).", code="bad_review"
        )
    incident = await _load(session, scope, incident_id)
    if incident.state != "closed":
        raise IncidentConflict("Разбор пишется после закрытия инцидента.")
    incident.review = {
        "cause": cause,
        "actions": actions,
        "change_needed": change_needed,
        "by": actor.label,
        "at": now.isoformat(),
    }
    await session.flush()
    await repository.add_event(
        session, incident_id=incident.id, at=now, kind="review", actor=actor.label, comment=cause
    )
    await record_audit(
        session, actor, "incident.review", "incident", str(incident.id), None, incident.review
    )
    return incident
