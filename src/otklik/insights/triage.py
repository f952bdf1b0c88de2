"""The urgent triage queue: flags in, a person's review out, the authority told at once.

A flagged comment (``comment_analyses.urgent``) enters ``urgent_reviews`` as *new* with a due
time (the SLA: ``SLA_HOURS`` by kind); the periodic job ``insights.triage_urgent`` does that
and writes one e-mail per authority user over the organization (the regional authority of
its region, the founder's users), sent by improvement's outbox job: within a minute of the
analysis. A reviewer marks it *confirmed* (optionally correcting the kind) or *not urgent*;
the review is audited and is a label for the next ``otklik insights train-urgent``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import NotFound, ValidationFailed
from otklik.identity import audit_labels
from otklik.identity.audit import Actor, record_audit
from otklik.insights import repository
from otklik.insights.urgent import KINDS, Example
from otklik.kit.scope import Scope

# Hours to review a flag: danger and violence at once, corruption and discrimination in a day.
SLA_HOURS = {"danger": 4, "violence": 4, "corruption": 24, "discrimination": 24}
STATES = {"new": "новый", "confirmed": "подтверждён", "not_urgent": "не срочно"}
BATCH = 500
KIND_NAMES = {
    "danger": "угроза жизни или здоровью",
    "violence": "насилие или жестокое обращение",
    "corruption": "коррупция",
    "discrimination": "дискриминация",
}
audit_labels.register_values(STATES, KIND_NAMES)


async def enqueue(session: AsyncSession, now: datetime) -> list[dict[str, Any]]:
    """Queue new flags (due by their kind's SLA) and return the e-mails for improvement's
    outbox: one per authority user and organization."""
    rows = await repository.enqueue_urgent(session, now, SLA_HOURS, BATCH)
    if not rows:
        return []
    by_org: dict[int, list[str]] = {}
    for r in rows:
        by_org.setdefault(r.organization_id, []).append(r.kind)
    notices: list[dict[str, Any]] = []
    for org_id, name, user_id in await repository.authority_recipients(session, list(by_org)):
        kinds = by_org[org_id]
        listed = ", ".join(sorted({KIND_NAMES.get(k, k) for k in kinds}))
        notices.append(
            {
                "user_id": user_id,
                "subject": f"Срочные отзывы: {name}"[:300],
                "text": (
                    f"В отзывах об организации «{name}» {len(kinds)} новых срочных сигнала(ов): "
                    f"{listed}. Проверьте их в очереди срочных отзывов до истечения срока."
                ),
                "link": "/insights/triage",
            }
        )
    await repository.mark_notified(session, [(r.response_id, r.code) for r in rows], now)
    return notices


async def review(
    session: AsyncSession,
    scope: Scope,
    actor: Actor,
    response_id: uuid.UUID,
    code: str,
    state: str,
    kind: str | None,
    now: datetime,
) -> None:
    """Mark a queued flag confirmed (with its kind) or not urgent; audited."""
    if state not in {"confirmed", "not_urgent"}:
        raise ValidationFailed("Выберите решение: подтвердить или «не срочно».")
    if kind is not None and kind not in KINDS:
        raise ValidationFailed("Неизвестный вид срочного сигнала.")
    item = await repository.triage_item(session, scope, response_id, code)
    if item is None:
        raise NotFound("Срочный сигнал не найден или вне вашей области доступа.")
    before = {"state": item.state, "kind": item.kind}
    new_kind = kind or item.kind
    await repository.set_review(session, response_id, code, state, new_kind, actor.user_id, now)
    await record_audit(
        session,
        actor,
        "insights.review_urgent",
        "urgent_review",
        f"{response_id}/{code}",
        before,
        {"state": state, "kind": new_kind},
    )


async def review_examples(session: AsyncSession) -> list[Example]:
    """Reviewed flags as training examples (confirmed: urgent of its kind; else not urgent)."""
    return [
        Example(r.text, r.value, r.kind if r.state == "confirmed" else None, "reviews")
        for r in await repository.review_labels(session)
    ]
