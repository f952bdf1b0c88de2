"""Change-request service: creation, role-gated transitions, timeline, notifications."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.errors import Forbidden, ValidationFailed
from otklik.identity.roles import Role
from otklik.improvement import repository
from otklik.improvement.models import ImprovementEvent, Notification
from otklik.improvement.service import (
    Hypothesis,
    TransitionConflict,
    create_change_request,
    transition,
)
from otklik.improvement.tasks import send_notifications
from tests.factories import create_organization, create_user
from tests.outreach.conftest import Mailbox


async def _request(session: AsyncSession, **kw: object) -> object:
    org = await create_organization(session, region="16")
    owner = await create_user(session, Role.participant, f"organization:{org.ogrn}")
    cr = await create_change_request(
        session,
        owner,
        subject_kind="service",
        subject_code=kw.get("code", "health.outpatient_visit"),  # type: ignore[arg-type]
        title="Запись к врачу без очереди",
        problem="Долгое ожидание в регистратуре",
        hypothesis=Hypothesis("overall", "балл", Decimal("3.9"), Decimal("4.3"), date(2026, 9, 30)),
    )
    return cr, owner, org


async def test_create_and_walk_to_expertise(session: AsyncSession) -> None:
    cr, owner, org = await _request(session)
    assert cr.state == "draft"
    assert cr.organization_id == org.id
    assert cr.region_code == "16"
    analyst = await create_user(session, Role.analyst)
    cr = await transition(session, owner, cr.id, "submitted")
    assert cr.state == "submitted"
    assert cr.version == 2
    # the analysts are told by e-mail
    n = await session.scalar(
        select(func.count()).select_from(Notification).where(Notification.user_id == analyst.id)
    )
    assert n == 1
    with pytest.raises(Forbidden):
        await transition(session, owner, cr.id, "expertise")
    with pytest.raises(TransitionConflict):
        await transition(session, analyst, cr.id, "approved")
    with pytest.raises(ValidationFailed, match="причину"):
        await transition(session, analyst, cr.id, "returned")
    cr = await transition(session, analyst, cr.id, "expertise", "берём")
    events = (
        await session.scalars(
            select(ImprovementEvent.to_state).where(ImprovementEvent.entity_id == cr.id)
        )
    ).all()
    assert list(events) == ["draft", "submitted", "expertise"]


async def test_unknown_subject_is_precise(session: AsyncSession) -> None:
    with pytest.raises(ValidationFailed, match="не найдена в реестре"):
        await _request(session, code="no_such_service")


async def test_scope_hides_other_regions(session: AsyncSession) -> None:
    cr, _owner, _org = await _request(session)
    other = await create_user(session, Role.participant, "region:77")
    own = await create_user(session, Role.participant, "region:16")
    from otklik.identity.service import scope_of

    assert await repository.get(session, scope_of(other), cr.id) is None
    assert await repository.get(session, scope_of(own), cr.id) is not None


async def test_notification_reaches_the_next_actor_by_email(
    session: AsyncSession, smtp: tuple[Mailbox, int], tmp_path: Path
) -> None:
    box, port = smtp
    cr, owner, _org = await _request(session)
    analyst = await create_user(session, Role.analyst, email="next-actor@example.test")
    await transition(session, owner, cr.id, "submitted")
    settings = Settings(
        env="test", data_dir=tmp_path, secret_key="t" * 40, pii_key="p" * 40,
        smtp_host="127.0.0.1", smtp_port=port,
    )  # fmt: skip
    assert await send_notifications(session, settings) >= 1
    mine = [m for m in box.messages if m["To"] == analyst.email]
    assert len(mine) == 1
    assert "Подан" in mine[0]["Subject"] or "подан" in mine[0]["Subject"]
    assert f"/improvement/changes/{cr.id}" in mine[0].get_content()
    assert await send_notifications(session, settings) == 0 or all(
        m["To"] != analyst.email for m in box.messages[1:]
    )


async def test_content_is_edited_only_in_draft_or_after_return(session: AsyncSession) -> None:
    from otklik.improvement.service import edit_content

    cr, owner, _org = await _request(session)
    kw = {"title": "Новое название", "problem": "Уточнено", "change": {}, "hypothesis": None,
          "planned_release": None}  # fmt: skip
    await edit_content(session, owner, cr.id, **kw)  # type: ignore[arg-type]
    await session.refresh(cr)
    assert cr.title == "Новое название"
    assert cr.hyp_indicator is None
    await transition(session, owner, cr.id, "submitted")
    with pytest.raises(TransitionConflict, match="только в черновике"):
        await edit_content(session, owner, cr.id, **kw)  # type: ignore[arg-type]
    analyst = await create_user(session, Role.analyst)
    await transition(session, analyst, cr.id, "returned", "добавьте расчёт")
    # a returned request waits for its owner only: no e-mail to other proposers
    told = (
        await session.scalars(
            select(Notification.user_id).where(Notification.link == f"/improvement/changes/{cr.id}")
        )
    ).all()
    assert owner.id in told
    assert analyst.id not in told
    await edit_content(session, owner, cr.id, **{**kw, "title": "После возврата"})  # type: ignore[arg-type]
    assert (await transition(session, owner, cr.id, "submitted")).title == "После возврата"


async def test_close_requires_the_effect_or_a_recorded_reason(session: AsyncSession) -> None:
    """Issue 13 item 3 on improvement's own close transition (not only the effects path)."""
    from sqlalchemy import update

    from otklik.effects.models import EffectAssessment
    from otklik.improvement.models import ChangeRequest

    cr, _owner, org = await _request(session)
    analyst = await create_user(session, Role.analyst)
    await session.execute(
        update(ChangeRequest).where(ChangeRequest.id == cr.id).values(state="effect_assessment")
    )

    async def refused(outcome: str, comment: str = "") -> TransitionConflict:
        with pytest.raises(TransitionConflict) as e:
            await transition(session, analyst, cr.id, "closed", comment, outcome)
        assert e.value.status_code == 409
        state = await session.scalar(select(ChangeRequest.state).where(ChangeRequest.id == cr.id))
        assert state == "effect_assessment"  # nothing written
        return e.value

    # no assessment, no reason: refused, whatever the conclusion
    for outcome in ("confirmed", "inconclusive"):
        e = await refused(outcome)
        assert e.code == "assessment_required"
        assert "укажите причину" in e.message
    # a reason, but a claimed effect without a measurement: refused
    e = await refused("confirmed", "данных нет")
    assert "недостаточно данных" in e.message
    # the assessment is still being measured: refused without a reason, says so
    a = EffectAssessment(
        change_request_id=cr.id, title="t", indicator="overall", direction=1,
        released_on=date(2026, 9, 1), window_days=60, organization_ids=[org.id],
    )  # fmt: skip
    session.add(a)
    await session.flush()
    e = await refused("confirmed")
    assert "ещё не завершена" in e.message
    # measured: the conclusion must be the verdict's
    a.verdict = "not_confirmed"
    await session.flush()
    e = await refused("confirmed")
    assert e.code == "outcome_mismatch"
    assert "эффект не подтверждён" in e.message
    closed = await transition(session, analyst, cr.id, "closed", "", "not_confirmed")
    assert (closed.state, closed.outcome) == ("closed", "not_confirmed")


async def test_close_with_a_recorded_reason_is_inconclusive(session: AsyncSession) -> None:
    from sqlalchemy import update

    from otklik.improvement.models import ChangeRequest

    cr, _owner, _org = await _request(session)
    analyst = await create_user(session, Role.analyst)
    await session.execute(
        update(ChangeRequest).where(ChangeRequest.id == cr.id).values(state="effect_assessment")
    )
    closed = await transition(
        session, analyst, cr.id, "closed", "нет сопоставимых организаций", "inconclusive"
    )
    assert (closed.state, closed.outcome) == ("closed", "inconclusive")
    comments = (
        await session.scalars(
            select(ImprovementEvent.comment).where(
                ImprovementEvent.entity_id == cr.id, ImprovementEvent.to_state == "closed"
            )
        )
    ).all()
    assert comments == ["нет сопоставимых организаций"]
