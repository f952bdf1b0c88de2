"""Participants' indicators and information measures: computed, scoped, "нет данных" not zero."""

from __future__ import annotations

from datetime import timedelta

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.roles import Role
from otklik.mszu.statistics import today_moscow
from tests.factories import create_organization, create_user, csrf_from, login


async def test_kpis_api_answers_with_no_data_where_tables_are_missing(
    client: AsyncClient, session: AsyncSession
) -> None:
    user = await create_user(session, Role.participant, scope="region:16")
    await session.commit()
    assert await login(client, user.email) == 303
    resp = await client.get("/api/v1/participants/region:16/kpis?period=2026")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["response_rate"]["target"] == 0.4
    assert body["response_rate"]["value"] is None  # no invitations: no data, not zero
    assert body["change_requests_on_time"]["value"] is None
    assert "нет данных" in body["incidents_ack_in_sla"]["note"]
    assert [t["month"] for t in body["trend"]][::11] == ["2026-01", "2026-12"]
    assert body["trend"][0]["response_rate"] is None
    detail = await client.get("/participants/region:16?period=2026")
    assert detail.status_code == 200
    assert "Доля ответов по месяцам" in detail.text
    out = await client.get("/api/v1/participants/region:77/kpis")
    missing = await client.get("/api/v1/participants/region:00/kpis")
    assert out.status_code == missing.status_code == 404
    assert out.json() == missing.json()  # out of scope answers exactly as a missing participant
    assert (await client.get("/participants/region:77")).status_code == 404
    bad = await client.get("/api/v1/participants/planet:3/kpis")
    assert bad.status_code == 422
    assert "Код участника" in bad.json()["error"]["message"]
    page = await client.get("/participants?period=2026")
    assert page.status_code == 200
    assert "Изменения, дорожные карты, отчёты и инциденты" in page.text
    assert "нет данных" in page.text.lower()


async def test_information_measures_are_validated_and_listed(
    client: AsyncClient, session: AsyncSession
) -> None:
    user = await create_user(session, Role.regional_authority, scope="region:16")
    await session.commit()
    assert await login(client, user.email) == 303
    page = await client.get("/measures")
    day = (today_moscow() - timedelta(days=10)).isoformat()
    empty = await client.post(
        "/measures",
        data={
            "csrf_token": csrf_from(page.text),
            "title": "Плакаты",
            "channels": ["posters"],
            "started_on": day,
            "ended_on": day,
        },
    )
    assert empty.status_code == 422  # no organization in the region: the measure covers nothing
    assert "не охватывает ни одной организации" in empty.text
    await create_organization(session, region="16")
    await session.commit()
    assert page.status_code == 200
    csrf = csrf_from(page.text)
    today = today_moscow()
    form = {
        "csrf_token": csrf,
        "title": "Плакаты в поликлиниках",
        "channels": ["posters", "staff"],
        "started_on": (today - timedelta(days=40)).isoformat(),
        "ended_on": (today - timedelta(days=10)).isoformat(),
    }
    bad = await client.post("/measures", data={**form, "ended_on": "2000-01-01"})
    assert bad.status_code == 422
    assert "окончание не раньше начала" in bad.text
    other = await client.post("/measures", data={**form, "region": "77"})
    assert other.status_code == 403
    nochannel = await client.post("/measures", data={**form, "channels": []})
    assert nochannel.status_code == 422
    ok = await client.post("/measures", data=form)
    assert ok.status_code == 303
    listing = await client.get("/measures")
    assert "Плакаты в поликлиниках" in listing.text
    assert '"row">Плакаты</th>' not in listing.text  # the refused measure left nothing behind
    assert "пока нельзя оценить" in listing.text


async def test_an_open_incident_feeds_the_criteria_and_the_sla_indicators(
    client: AsyncClient, session: AsyncSession
) -> None:
    from datetime import UTC, datetime

    from otklik.identity.audit import Actor
    from otklik.incidents.service import open_manual
    from otklik.kit.scope import Scope
    from otklik.priorities import kpis
    from otklik.priorities.service import subjects, window

    await open_manual(
        session,
        Scope.country(),
        Actor.system("test"),
        datetime.now(UTC),
        title="Очереди на запись к врачу",
        subject="service:health.checkup",
        severity=2,
        organization_id=None,
        region_code="16",
    )
    start, end = window()
    raw = {s.code: s.raw for s in await subjects(session, start, end)}
    assert raw["health.checkup"]["open_incidents"] == 1
    assert raw["health.vaccination"]["open_incidents"] == 0
    from otklik.indicators.periods import parse_period

    values = await kpis.external(session, "region", parse_period(str(today_moscow().year)))
    # just opened: neither acknowledged nor due yet, so not counted (no data, not zero)
    assert values["incidents_ack_in_sla"].get("16", {"value": None})["value"] is None


async def test_an_organization_scoped_participant_sees_its_own_figures_only(
    client: AsyncClient, session: AsyncSession
) -> None:
    mine = await create_organization(session, region="16")
    other = await create_organization(session, region="16")
    user = await create_user(session, Role.participant, scope=f"organization:{mine.ogrn}")
    await session.commit()
    assert await login(client, user.email) == 303
    own = await client.get(f"/api/v1/participants/organization:{mine.ogrn}/kpis?period=2026")
    assert own.status_code == 200, own.text
    assert own.json()["participant"] == f"organization:{mine.ogrn}"
    page = await client.get(f"/participants/organization:{mine.ogrn}?period=2026")
    assert page.status_code == 200
    assert "/participants?kind=organization" not in page.text  # no such comparison table
    missing = await client.get("/api/v1/participants/organization:1000000000000/kpis")
    for code in (f"organization:{other.ogrn}", "region:16", "founder:r16-health"):
        resp = await client.get(f"/api/v1/participants/{code}/kpis?period=2026")
        assert resp.status_code == 404, code
        assert resp.json() == missing.json()


async def test_a_founder_scope_holds_the_founder_and_its_organizations(
    client: AsyncClient, session: AsyncSession
) -> None:
    mine = await create_organization(session, region="16", founder="r16-health")
    other = await create_organization(session, region="50", founder="r50-health")
    user = await create_user(session, Role.federal_authority, scope="founder:r16-health")
    await session.commit()
    assert await login(client, user.email) == 303
    for code in ("founder:r16-health", f"organization:{mine.ogrn}"):
        resp = await client.get(f"/api/v1/participants/{code}/kpis?period=2026")
        assert resp.status_code == 200, (code, resp.text)
    for code in ("founder:r50-health", f"organization:{other.ogrn}", "region:16"):
        resp = await client.get(f"/api/v1/participants/{code}/kpis?period=2026")
        assert resp.status_code == 404, code
