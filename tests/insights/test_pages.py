"""Insights pages: scoped to the user's organizations, masked text only for allowed roles."""

from __future__ import annotations

from datetime import date

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.roles import Role
from otklik.insights import service
from otklik.insights.models import InsightCorrection
from otklik.registry.models import Organization
from tests.factories import create_organization, create_user, csrf_from, login
from tests.insights.factories import add_response

WAIT = "Ждали в очереди два часа"
URGENT = "Врач потребовал деньги мимо кассы"


async def _data(session: AsyncSession) -> tuple[Organization, Organization]:
    own = await create_organization(session, region="77", name="Поликлиника Пресни")
    other = await create_organization(session, region="50", name="Больница Подмосковья")
    for overall in (1, 2, 2, 1, 3):
        await add_response(session, own, overall, WAIT, day=date(2026, 11, 3))
    for overall in (5, 5, 4, 5, 4, 5):
        await add_response(session, own, overall, "Всё отлично", day=date(2026, 11, 4))
    await add_response(session, other, 1, URGENT, day=date(2026, 11, 5))
    await service.analyse_pending(session)
    await session.commit()
    return own, other


async def test_organization_sees_its_problems_and_not_others(
    client: AsyncClient, session: AsyncSession
) -> None:
    own, other = await _data(session)
    user = await create_user(session, Role.organization, scope=f"organization:{own.ogrn}")
    await session.commit()
    assert await login(client, user.email) == 303
    page = await client.get(f"/insights/organizations/{own.id}?period=2026-11")
    assert page.status_code == 200
    assert "Ожидание и очереди" in page.text
    assert "проблема" in page.text
    assert WAIT in page.text  # masked text is shown to the organization itself
    assert (await client.get(f"/insights/organizations/{other.id}")).status_code == 404
    overview = await client.get("/insights?period=2026-11")
    assert "Поликлиника Пресни" in overview.text
    assert "Больница Подмосковья" not in overview.text
    assert URGENT not in overview.text
    assert (await client.get("/insights?period=2026-13")).status_code == 400


async def test_authority_sees_urgent_flag_analyst_without_text(
    client: AsyncClient, session: AsyncSession
) -> None:
    _own, other = await _data(session)
    authority = await create_user(session, Role.regional_authority, scope="region:50")
    analyst = await create_user(session, Role.analyst)
    citizen = await create_user(session, Role.citizen)
    await session.commit()
    await login(client, authority.email)
    page = await client.get("/insights?period=2026-11")
    assert "Коррупция" in page.text
    assert URGENT in page.text
    assert "Поликлиника Пресни" not in page.text
    client.cookies.clear()
    await login(client, analyst.email)
    page = await client.get(f"/insights/organizations/{other.id}?period=2026-11")
    assert page.status_code == 200
    assert "Коррупция" in page.text  # the flag, whatever the small numbers
    assert URGENT not in page.text  # analysts see no comment text
    assert "Недостаточно данных" in page.text
    client.cookies.clear()
    await login(client, citizen.email)
    assert (await client.get("/insights")).status_code == 403


async def test_correction_form_posts_with_csrf(client: AsyncClient, session: AsyncSession) -> None:
    own, _other = await _data(session)
    user = await create_user(session, Role.organization, scope=f"organization:{own.ogrn}")
    await session.commit()
    await login(client, user.email)
    page = await client.get(f"/insights/organizations/{own.id}?period=2026-11")
    action = page.text.split('action="/insights/comments/')[1].split('"')[0]
    url = f"/insights/comments/{action}"
    data = {"csrf_token": csrf_from(page.text), "topics": ["waiting", "booking"]}
    resp = await client.post(url, data=data)
    assert resp.status_code == 303
    kept = (await session.execute(select(InsightCorrection))).scalars().all()
    assert kept[-1].topics == ["waiting", "booking"]
    assert (await client.post(url, data={"topics": ["waiting"]})).status_code == 403
    bad = await client.post(url, data={**data, "topics": ["nope"]})
    assert bad.status_code == 422


async def test_overview_searches_sorts_and_pages(
    client: AsyncClient, session: AsyncSession
) -> None:
    orgs = [
        await create_organization(session, region="77", name=f"Школа № {i:02d}") for i in range(55)
    ]
    for i, org in enumerate(orgs):
        for _ in range(1 + i % 3):
            await add_response(session, org, 4, "Всё хорошо", day=date(2026, 11, 3))
    await service.analyse_pending(session)
    coordinator = await create_user(session, Role.coordinator)
    await session.commit()
    await login(client, coordinator.email)
    first = await client.get("/insights?period=2026-11&sort=name")
    assert first.status_code == 200
    assert "Школа № 00" in first.text
    assert "Школа № 54" not in first.text  # 50 a page
    assert "Страница 1 из 2" in first.text
    second = await client.get("/insights?period=2026-11&sort=name&page=2")
    assert "Школа № 54" in second.text
    assert "Школа № 00" not in second.text
    found = await client.get("/insights", params={"period": "2026-11", "q": "№ 07"})
    assert "Школа № 07" in found.text
    assert "Школа № 08" not in found.text
    assert "Найдено: 1." in found.text
    busiest = await client.get("/insights?period=2026-11&sort=-comments")
    body = busiest.text
    assert body.index("Школа № 02") < body.index("Школа № 00")  # 3 comments before 1


async def test_urgent_text_reaches_an_organization_only_above_the_threshold(
    client: AsyncClient, session: AsyncSession
) -> None:
    small = await create_organization(session, region="50", name="Больница Подмосковья")
    await add_response(session, small, 1, URGENT, day=date(2026, 11, 5))  # n = 1 < 10
    await service.analyse_pending(session)
    own = await create_user(session, Role.organization, scope=f"organization:{small.ogrn}")
    authority = await create_user(session, Role.regional_authority, scope="region:50")
    await session.commit()
    await login(client, own.email)
    page = await client.get(f"/insights/organizations/{small.id}?period=2026-11")
    assert "Коррупция" in page.text  # the flag, whatever the numbers
    assert URGENT not in page.text  # a single answer's text is not shown to its organization
    assert URGENT not in (await client.get("/insights?period=2026-11")).text
    client.cookies.clear()
    await login(client, authority.email)
    page = await client.get(f"/insights/organizations/{small.id}?period=2026-11")
    assert URGENT in page.text  # the authority reviews it


@pytest.mark.parametrize("period", ["0000-01", "9999-12", "٢٠٢٦-١١"])
async def test_impossible_months_are_a_clear_400(
    client: AsyncClient, session: AsyncSession, period: str
) -> None:
    coordinator = await create_user(session, Role.coordinator)
    await session.commit()
    await login(client, coordinator.email)
    assert (await client.get("/insights", params={"period": period})).status_code == 400


async def test_default_month_is_the_last_complete_one_with_enough_comments(
    client: AsyncClient, session: AsyncSession
) -> None:
    from datetime import timedelta

    from otklik.kit.clock import moscow_date

    today = moscow_date()
    last = today.replace(day=1) - timedelta(days=1)  # a day of the last complete month
    org = await create_organization(session, region="77", name="Поликлиника на Соколе")
    for overall in (1, 2, 2, 1, 3, 5, 5, 4, 5, 4, 5):
        await add_response(session, org, overall, WAIT, day=last)
    await add_response(session, org, 5, "Всё хорошо", day=today)  # the running month: one
    await service.analyse_pending(session)
    await add_response(session, org, 4, "Пока не разобран", day=today)  # the backlog
    user = await create_user(session, Role.organization, scope=f"organization:{org.ogrn}")
    await session.commit()
    await login(client, user.email)
    page = await client.get("/insights")
    assert page.status_code == 200
    assert f'value="{last:%Y-%m}"' in page.text  # not today's month with one comment
    assert "последний завершённый месяц" in page.text
    assert "обработано 12 из 13 комментариев" in page.text
    own = await client.get(f"/insights/organizations/{org.id}")
    assert f'value="{last:%Y-%m}"' in own.text
    assert "обработано 12 из 13 комментариев" in own.text


async def test_text_sentiment_is_shown_beside_the_score_and_a_contradiction_is_marked(
    client: AsyncClient, session: AsyncSession
) -> None:
    org = await create_organization(session, region="77", name="Школа № 7")
    for _ in range(10):
        await add_response(session, org, 5, "Всё отлично, спасибо", day=date(2026, 11, 4))
    complaint = "Ставлю пять, но учитель орёт на детей, а директор не отвечает на жалобы"
    await add_response(session, org, 5, complaint, day=date(2026, 11, 6))
    await service.analyse_pending(session)
    user = await create_user(session, Role.organization, scope=f"organization:{org.ogrn}")
    await session.commit()
    await login(client, user.email)
    page = await client.get(f"/insights/organizations/{org.id}?period=2026-11")
    assert page.status_code == 200
    card = page.text.split(complaint)[0].rsplit("<article", 1)[1]
    assert "текст негативный, оценка 5 из 5" in card
    assert "оценка расходится с текстом" in card
    assert page.text.count("оценка расходится с текстом") == 1  # praise with 5 agrees
