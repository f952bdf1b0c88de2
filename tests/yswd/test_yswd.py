"""«Вы сказали — мы сделали»: entries from released changes and closed incidents, own entries
reviewed by the authority, the public page with suppressed figures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.effects import links as effect_links
from otklik.errors import NotFound, ValidationFailed
from otklik.identity.audit import Actor
from otklik.identity.roles import Role
from otklik.identity.service import scope_of
from otklik.improvement.models import ChangeRequest, ChangeRequestEvidence, ImprovementEvent
from otklik.improvement.service import Hypothesis, create_change_request
from otklik.incidents import service as incidents
from otklik.insights.models import CommentAnalysis
from otklik.kit.scope import Scope
from otklik.registry.models import Organization
from otklik.yswd import service
from otklik.yswd.service import EntryConflict
from tests.effects.factories import answers
from tests.factories import create_organization, create_user, csrf_from, login
from tests.insights.factories import add_response

NOW = datetime(2026, 12, 31, 21, 30, tzinfo=UTC)
TODAY = date(2027, 1, 1)
SERVICE = "health.outpatient_visit"


async def _comments(
    session: AsyncSession, org: Organization, day: date, total: int, waiting: int
) -> None:
    for k in range(total):
        rid = await add_response(session, org, None, "комментарий", day=day)
        session.add(
            CommentAnalysis(
                response_id=rid, code="comment", organization_id=org.id, answered_on=day,
                topics=["waiting"] if k < waiting else ["booking"], sentiment="negative",
                urgent=False, urgent_kind=None, taxonomy_version="2026.1", model_version="test",
            )
        )  # fmt: skip
    await session.flush()


async def _released_change(session: AsyncSession) -> int:
    participant = await create_user(session, Role.participant, scope="region:16")
    cr = await create_change_request(
        session, participant, subject_kind="service", subject_code=SERVICE,
        title="Онлайн-запись без звонка", problem="Очереди",
        region_code="16", change={"Запись": "через портал"},
        hypothesis=Hypothesis("overall", "балл", Decimal("4.0"), Decimal("4.5"), date(2026, 12, 1)),
    )  # fmt: skip
    await session.execute(
        update(ChangeRequest).where(ChangeRequest.id == cr.id).values(state="released")
    )
    session.add_all(
        [
            ImprovementEvent(
                entity="change_request", entity_id=cr.id, actor_label="test", action="transition",
                from_state="control_check", to_state="released",
                at=datetime(2026, 9, 1, 9, 0, tzinfo=UTC),
            ),
            ChangeRequestEvidence(
                change_request_id=cr.id, kind="insight_problem", ref="x",
                snapshot={"topic": "waiting", "name": "Ожидание и очереди"},
            ),
        ]
    )  # fmt: skip
    await session.flush()
    return cr.id


async def test_entries_from_a_released_change_and_a_closed_incident(
    session: AsyncSession, client: AsyncClient
) -> None:
    release = date(2026, 9, 1)
    treated = [await create_organization(session, region="16") for _ in range(5)]
    controls = [await create_organization(session, region="77") for _ in range(5)]
    org = treated[0]
    cr_id = await _released_change(session)  # a change of the whole region 16
    # a year of comments before the release: 40, of which 10 about waiting -> 25 %
    await _comments(session, org, release - timedelta(days=30), 40, 10)
    page = await service.public_page(session, org.ogrn, TODAY)
    (entry,) = page["entries"]
    assert entry.source == "change"
    assert entry.share == 25.0
    assert entry.topic_name == "Ожидание и очереди"
    assert "Онлайн-запись без звонка. Запись: через портал" == entry.done
    assert entry.effect == "эффект ещё измеряется"
    # the assessment measured: the effect with its interval replaces the phrase
    for k, o in enumerate(treated + controls):
        for offset in (-40, -10):
            await answers(session, o, release + timedelta(days=offset), [3, 4, 4, 4, 5])
        post = [5, 5, 5, 4, 5] if o in treated else [4, 4, 3 + k % 2, 4, 4]
        await answers(session, o, release + timedelta(days=20), post)
    analyst = await create_user(session, Role.analyst)
    a = await effect_links.assess_change(session, analyst, cr_id, date(2026, 12, 31), NOW)
    assert a.verdict == "confirmed"
    page = await service.public_page(session, treated[1].ogrn, TODAY)  # covered by the assessment
    (entry,) = page["entries"]
    low, high = f"{a.ci_low:+.2f}".replace(".", ","), f"{a.ci_high:+.2f}".replace(".", ",")
    assert f"95\u00a0% интервал {low} … {high}" in entry.effect
    assert entry.effect.endswith("эффект подтверждён")
    assert entry.share is None  # that organization has no comments: nothing to show
    # a closed incident of the organization, with its review
    actor, scope = Actor.system("test"), Scope.country()
    i = await incidents.open_manual(
        session, scope, actor, NOW, title="Очередь в регистратуру", subject="topic:waiting",
        severity=2, organization_id=org.id, region_code=None,
    )  # fmt: skip
    for action in ("acknowledge", "start", "resolve", "close"):
        await incidents.transition(session, scope, actor, NOW, i.id, action, "ок")
    await incidents.write_review(
        session, scope, actor, NOW, i.id, cause="Один регистратор",
        actions="Открыли второе окно регистратуры", change_needed=False,
    )  # fmt: skip
    page = await service.public_page(session, org.ogrn, TODAY)
    first = page["entries"][0]
    assert (first.source, first.done) == ("incident", "Открыли второе окно регистратуры")
    assert first.said == "Граждане стали чаще писать о теме «Ожидание и очереди»"
    assert [e.source for e in page["entries"]] == ["incident", "change"]
    # the page renders the scores (answers of this year) and both entries
    html = (await client.get(f"/o/{org.ogrn}/you-said-we-did")).text
    assert "Открыли второе окно регистратуры" in html
    assert "25,0\u00a0% комментариев за год до изменения" in html  # the formatter's no-break space
    assert "Средний балл по вопросам анкеты" in html


async def test_own_entry_is_public_only_after_its_authority_approves(
    session: AsyncSession,
) -> None:
    org = await create_organization(session, region="16")
    other = await create_organization(session, region="77")
    user = await create_user(session, Role.organization, scope=f"organization:{org.ogrn}")
    member = Actor(user.id, user.email)
    scope = scope_of(user)
    fields: dict[str, Any] = {
        "topic": "waiting",
        "said": "Долго ждать в очереди",
        "done": "Открыли второе окно",
        "done_on": date(2026, 12, 1),
    }
    with pytest.raises(ValidationFailed) as bad:
        await service.submit(session, scope, member, TODAY, **{**fields, "topic": "nope"})
    assert bad.value.code == "bad_topic"
    with pytest.raises(ValidationFailed):
        await service.submit(
            session, scope, member, TODAY, **{**fields, "done_on": TODAY + timedelta(days=1)}
        )
    entry = await service.submit(session, scope, member, TODAY, **fields)
    assert (await service.public_page(session, org.ogrn, TODAY))["entries"] == []
    far = await create_user(session, Role.regional_authority, scope="region:77")
    near = await create_user(session, Role.regional_authority, scope="region:16")
    with pytest.raises(NotFound):  # another region's authority does not see it
        await service.review(
            session, scope_of(far), Actor(far.id, far.email), NOW, entry.id, approve=True
        )
    with pytest.raises(ValidationFailed) as no_reason:
        await service.review(
            session, scope_of(near), Actor(near.id, near.email), NOW, entry.id, approve=False
        )
    assert no_reason.value.code == "no_reason"
    returned = await service.review(
        session, scope_of(near), Actor(near.id, near.email), NOW, entry.id, approve=False,
        reason="Уточните, когда открыли окно",
    )  # fmt: skip
    assert (returned.state, returned.return_reason) == ("returned", "Уточните, когда открыли окно")
    with pytest.raises(EntryConflict):
        await service.review(
            session, scope_of(near), Actor(near.id, near.email), NOW, entry.id, approve=True
        )
    again = await service.submit(session, scope, member, TODAY, **fields)
    await service.review(
        session, scope_of(near), Actor(near.id, near.email), NOW, again.id, approve=True
    )
    (shown,) = (await service.public_page(session, org.ogrn, TODAY))["entries"]
    assert (shown.source, shown.said, shown.done) == (
        "own",
        "Долго ждать в очереди",
        "Открыли второе окно",
    )
    assert (await service.public_page(session, other.ogrn, TODAY))["entries"] == []


async def test_pages_over_http(client: AsyncClient, session: AsyncSession) -> None:
    org = await create_organization(session, region="16")
    await session.execute(
        update(Organization)
        .where(Organization.id == org.id)
        .values(address="г. Казань, ул. Пушкина, 1")
    )
    user = await create_user(session, Role.organization, scope=f"organization:{org.ogrn}")
    authority = await create_user(session, Role.regional_authority, scope="region:16")
    public = await client.get(f"/o/{org.ogrn}/you-said-we-did")
    assert public.status_code == 200
    assert "Республика Татарстан, г. Казань, ул. Пушкина, 1" in public.text
    assert "Недостаточно данных" in public.text  # no answers: the scores are hidden
    assert (await client.get("/o/1000000000000/you-said-we-did")).status_code == 404
    assert await login(client, user.email) == 303
    page = await client.get("/yswd")
    assert f"/o/{org.ogrn}/you-said-we-did" in page.text
    token = csrf_from(page.text)
    form = {"csrf_token": token, "topic": "waiting", "said": "Долго ждать", "done": "Открыли окно",
            "done_on": "2026-12-01"}  # fmt: skip
    short = await client.post("/yswd/entries", data={**form, "said": "коротко"})
    assert short.status_code == 422
    assert "Что сказали граждане: от 10 до 500 символов." in short.text
    sent = await client.post("/yswd/entries", data={**form, "said": "Долго ждать в очереди"})
    assert sent.status_code == 303
    await client.post("/logout", data={"csrf_token": token})
    assert await login(client, authority.email) == 303
    queue = await client.get("/yswd")
    assert "Долго ждать в очереди" in queue.text
    entry_id = queue.text.split('action="/yswd/entries/')[1].split("/")[0]
    ok = await client.post(
        f"/yswd/entries/{entry_id}/review",
        data={"csrf_token": csrf_from(queue.text), "decision": "approve"},
    )
    assert ok.status_code == 303
    public = await client.get(f"/o/{org.ogrn}/you-said-we-did")
    assert "Открыли окно" in public.text


def test_effect_without_an_interval_is_said_plainly() -> None:
    row = SimpleNamespace(
        verdict="inconclusive", estimate=0.12, ci_low=None, ci_high=None, indicator="overall",
        n_treated=1, n_control=30,
    )  # fmt: skip
    assert service._effect(row) == (
        "общая оценка: +0,12 балла (интервал не рассчитан: слишком мало организаций;"
        " организаций: 1, в сравнении: 30) — недостаточно данных"
    )
    assert service._effect(SimpleNamespace(verdict="pending", estimate=None)) == (
        "эффект ещё измеряется"
    )
