"""Urgent triage: the queue fills from flags, the authority gets an e-mail, a review is
scoped, CSRF-checked, audited and becomes a training label."""

from __future__ import annotations

from datetime import date, timedelta

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.models import AuditEntry
from otklik.identity.roles import Role
from otklik.improvement.models import Notification
from otklik.insights import service, triage
from otklik.insights.models import UrgentReview
from otklik.kit.clock import now_utc
from otklik.schedule import urgent_triage
from tests.factories import create_organization, create_user, csrf_from, login
from tests.insights.factories import add_response

BRIBE = "Заведующий вымогает взятку за направление на МРТ"
FINE = "Всё хорошо, спасибо"


async def test_queue_notifies_authority_and_review_is_audited(
    client: AsyncClient, session: AsyncSession
) -> None:
    org = await create_organization(session, region="50", name="Больница Подмосковья")
    other = await create_organization(session, region="77", name="Поликлиника Пресни")
    await add_response(session, org, 1, BRIBE, day=date(2026, 11, 5))
    await add_response(session, org, 5, FINE, day=date(2026, 11, 5))
    await add_response(session, other, 1, BRIBE, day=date(2026, 11, 6))
    authority = await create_user(session, Role.regional_authority, scope="region:50")
    await service.analyse_pending(session)
    before = now_utc()
    assert await urgent_triage(session, None) >= 1  # type: ignore[arg-type]
    queued = (await session.scalars(select(UrgentReview))).all()
    assert len(queued) == 2
    assert {q.kind for q in queued} == {"corruption"}
    assert all(q.state == "new" and q.notified_at is not None for q in queued)
    assert all(q.due_at - q.flagged_at == timedelta(hours=24) for q in queued)
    mails = (
        await session.scalars(select(Notification).where(Notification.user_id == authority.id))
    ).all()
    assert len(mails) == 1
    assert "Больница Подмосковья" in mails[0].subject
    assert BRIBE not in mails[0].text  # no comment text in e-mails
    assert await urgent_triage(session, None) == 0  # type: ignore[arg-type]
    await session.commit()

    assert await login(client, authority.email) == 303
    page = await client.get("/insights/triage")
    assert page.status_code == 200
    assert "Больница Подмосковья" in page.text
    assert "Поликлиника Пресни" not in page.text  # outside the region
    assert "<mark>взятку</mark>" in page.text  # the reason, highlighted in the masked text
    assert "словарь: взятка" in page.text
    own = next(q for q in queued if q.organization_id == org.id)
    foreign = next(q for q in queued if q.organization_id == other.id)
    url = f"/insights/triage/{own.response_id}/{own.code}"
    refused = await client.post(url, data={"decision": "confirmed"})
    assert refused.status_code in {400, 403}  # no CSRF token
    token = csrf_from(page.text)
    done = await client.post(url, data={"decision": "confirmed", "csrf_token": token})
    assert done.status_code == 303
    hidden = await client.post(
        f"/insights/triage/{foreign.response_id}/{foreign.code}",
        data={"decision": "not_urgent", "csrf_token": token},
    )
    assert hidden.status_code == 404
    await session.rollback()
    rows = {q.organization_id: q for q in (await session.scalars(select(UrgentReview))).all()}
    await session.refresh(rows[org.id])
    assert rows[org.id].state == "confirmed"
    assert rows[org.id].reviewed_at is not None
    assert rows[org.id].reviewed_at >= before
    assert rows[other.id].state == "new"
    audit = (
        await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "insights.review_urgent")
        )
    ).all()
    assert len(audit) == 1
    assert audit[0].after == {"state": "confirmed", "kind": "corruption"}
    labels = await triage.review_examples(session)
    assert [(e.text, e.kind) for e in labels] == [(BRIBE, "corruption")]
    reviewed = await client.get("/insights/triage?state=confirmed")
    assert "подтверждён" in reviewed.text
