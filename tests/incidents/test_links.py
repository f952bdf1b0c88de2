"""The links to change requests: incident review, lab findings, effect of a released change."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.effects import links as effect_links
from otklik.errors import ValidationFailed
from otklik.identity.audit import Actor
from otklik.identity.roles import Role
from otklik.improvement.models import ChangeRequest, ChangeRequestEvidence, ImprovementEvent
from otklik.improvement.service import Hypothesis, create_change_request
from otklik.incidents import links as incident_links
from otklik.incidents import service
from otklik.incidents.service import IncidentConflict
from otklik.kit.scope import Scope
from otklik.labs import links as lab_links
from otklik.labs import service as labs
from tests.effects.factories import answers
from tests.factories import create_organization, create_user

NOW = datetime(2026, 12, 31, 21, 30, tzinfo=UTC)
SERVICE = "health.outpatient_visit"


async def test_closed_incident_creates_one_linked_change_request(session: AsyncSession) -> None:
    org = await create_organization(session, region="16")
    user = await create_user(session, Role.participant, scope="region:16")
    actor, scope = Actor(user.id, user.email), Scope.country()
    i = await service.open_manual(
        session, scope, actor, NOW, title="Очередь в регистратуру", subject="service:x",
        severity=2, organization_id=org.id, region_code=None,
    )  # fmt: skip
    with pytest.raises(IncidentConflict):
        await incident_links.create_change_request_for(session, user, NOW, i.id, SERVICE)
    for action, comment in (("acknowledge", ""), ("start", ""), ("resolve", "ок"), ("close", "")):
        await service.transition(session, scope, actor, NOW, i.id, action, comment)
    await service.write_review(
        session, scope, actor, NOW, i.id, cause="Один регистратор", actions="Добавили окно",
        change_needed=True,
    )  # fmt: skip
    cr_id = await incident_links.create_change_request_for(session, user, NOW, i.id, SERVICE)
    ev = (await session.scalars(select(ChangeRequestEvidence))).one()
    assert (ev.change_request_id, ev.kind, ev.ref) == (cr_id, "incident", str(i.id))
    with pytest.raises(IncidentConflict) as again:
        await incident_links.create_change_request_for(session, user, NOW, i.id, SERVICE)
    assert again.value.code == "already_linked"


async def test_finding_creates_or_joins_a_change_request(session: AsyncSession) -> None:
    lab = await create_user(session, Role.lab)
    actor = Actor(lab.id, lab.email)
    study = await labs.create_study(
        session, actor, title="Запись", subject="service:x", tasks=["Записаться"]
    )
    one = await labs.add_finding(
        session, Scope.country(), actor, study.id, task_position=1, severity=1, title="Нет кнопки"
    )
    two = await labs.add_finding(
        session, Scope.country(), actor, study.id, task_position=None, severity=3,
        title="Мелкий шрифт",
    )  # fmt: skip
    cr_id = await lab_links.link_finding(session, lab, one.id, service_code=SERVICE)
    joined = await lab_links.link_finding(session, lab, two.id, change_request_id=cr_id)
    assert joined == cr_id
    refs = (await session.scalars(select(ChangeRequestEvidence.ref))).all()
    assert sorted(refs) == sorted([str(one.id), str(two.id)])


async def test_released_change_is_assessed_and_closed_with_its_verdict(
    session: AsyncSession,
) -> None:
    release = date(2026, 9, 1)
    treated = [await create_organization(session, region="16") for _ in range(5)]
    controls = [await create_organization(session, region="77") for _ in range(5)]
    for k, org in enumerate(treated + controls):
        for offset in (-40, -10):
            await answers(session, org, release + timedelta(days=offset), [3, 4, 4, 4, 5])
        post = [5, 5, 5, 4, 5] if org in treated else [4, 4, 3 + k % 2, 4, 4]
        await answers(session, org, release + timedelta(days=20), post)
    analyst = await create_user(session, Role.analyst)
    participant = await create_user(session, Role.participant, scope="region:16")
    cr = await create_change_request(
        session, participant, subject_kind="service", subject_code=SERVICE, title="Онлайн-запись",
        problem="Очереди", region_code="16",
        hypothesis=Hypothesis("overall", "балл", Decimal("4.0"), Decimal("4.5"), date(2026, 12, 1)),
    )  # fmt: skip
    # the request went through its workflow (improvement's own tests cover that path)
    await session.execute(
        update(ChangeRequest).where(ChangeRequest.id == cr.id).values(state="released")
    )
    session.add(
        ImprovementEvent(
            entity="change_request", entity_id=cr.id, actor_label="test", action="transition",
            from_state="control_check", to_state="released",
            at=datetime(2026, 9, 1, 9, 0, tzinfo=UTC),
        )
    )  # fmt: skip
    await session.flush()
    with pytest.raises(ValidationFailed) as no_assessment:
        await effect_links.close_change(session, analyst, cr.id)
    assert no_assessment.value.code == "assessment_required"
    a = await effect_links.assess_change(session, analyst, cr.id, date(2026, 12, 31), NOW)
    assert a.n_treated == 5
    assert a.n_control == 5
    assert a.verdict == "confirmed"
    assert await effect_links.close_change(session, analyst, cr.id) == "confirmed"
    closed = await session.get(ChangeRequest, cr.id, populate_existing=True)
    assert closed is not None
    assert (closed.state, closed.outcome) == ("closed", "confirmed")
