"""Create and edit a roadmap through its pages: role gating, precise Russian errors with the
form kept, the cycle check, and re-planning after approval showing the slip."""

from __future__ import annotations

from datetime import timedelta

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.roles import Role
from otklik.roadmaps import service
from otklik.roadmaps.models import Measure, MeasureDependency, Roadmap
from tests.factories import create_user, csrf_from, login

from .factories import NOW, TODAY, People

SUBJECT = "service:health.outpatient_visit"


def _rows(owner: str, *, deps2: str = "1", weight1: str = "2") -> dict[str, list[str]]:
    return {
        "m_title": ["Единое расписание", "Запись через портал", ""],
        "m_owner": [owner, owner, ""],
        "m_start": [TODAY.isoformat(), (TODAY + timedelta(days=10)).isoformat(), ""],
        "m_due": [
            (TODAY + timedelta(days=30)).isoformat(),
            (TODAY + timedelta(days=60)).isoformat(),
            "",
        ],
        "m_weight": [weight1, "1", "1"],
        "m_deps": ["", deps2, ""],
        "m_crs": ["", "", ""],
    }


async def _roadmaps(session: AsyncSession, owner_id: int) -> list[Roadmap]:
    return list(
        await session.scalars(
            select(Roadmap)
            .where(Roadmap.owner_user_id == owner_id)
            .execution_options(populate_existing=True)
        )
    )


async def test_create_and_edit_a_roadmap_by_its_pages(
    client: AsyncClient, session: AsyncSession
) -> None:
    p = await People(session).make()
    assert await login(client, p.owner.email) == 303
    index = await client.get("/roadmaps")
    assert 'href="/roadmaps/new"' in index.text
    page = await client.get("/roadmaps/new")
    assert page.status_code == 200
    token = csrf_from(page.text)
    base = {"csrf_token": token, "title": "Запись к врачу за один шаг", "subject": SUBJECT,
            "report_every_days": "14", "action": "save"}  # fmt: skip

    # a dependency cycle: 422, a precise message, the form kept, nothing written
    cycle = _rows(p.owner.email)
    cycle["m_deps"] = ["2", "1", ""]
    bad = await client.post("/roadmaps/new", data={**base, **cycle})
    assert bad.status_code == 422
    assert "Зависимости мероприятий образуют цикл: «1» → «2» → «1»." in bad.text
    assert 'value="Запись через портал"' in bad.text
    assert await _roadmaps(session, p.owner.id) == []
    # dates out of order, named by the form's row
    late = _rows(p.owner.email)
    late["m_due"][1] = (TODAY - timedelta(days=1)).isoformat()
    bad = await client.post("/roadmaps/new", data={**base, **late})
    assert bad.status_code == 422
    assert "срок окончания раньше начала" in bad.text
    # an unknown owner, a bad weight, a dependency that is not a row number
    other = _rows("nobody@example.test")
    bad = await client.post("/roadmaps/new", data={**base, **other})
    assert "Строка 1: Владелец мероприятия «Единое расписание» должен быть активным" in bad.text
    bad = await client.post("/roadmaps/new", data={**base, **_rows(p.owner.email, weight1="0")})
    assert "Мероприятие в строке 1: укажите вес" in bad.text
    bad = await client.post("/roadmaps/new", data={**base, **_rows(p.owner.email, deps2="x")})
    assert "Строка 2: «x» — не номер" in bad.text
    # "Добавить строки" keeps what was typed and adds empty rows, writes nothing
    more = await client.post("/roadmaps/new", data={**base, **_rows(p.owner.email),
                                                     "action": "more"})  # fmt: skip
    assert more.status_code == 200
    assert 'id="m_title-5"' in more.text
    assert await _roadmaps(session, p.owner.id) == []

    ok = await client.post("/roadmaps/new", data={**base, **_rows(p.owner.email)})
    assert ok.status_code == 303, ok.text
    [roadmap] = await _roadmaps(session, p.owner.id)
    assert ok.headers["location"] == f"/roadmaps/{roadmap.id}"
    assert roadmap.region_code == "16"  # the participant's own scope
    measures = list(
        await session.scalars(select(Measure).where(Measure.roadmap_id == roadmap.id)
                              .order_by(Measure.position))
    )  # fmt: skip
    assert [(m.title, m.weight) for m in measures] == [
        ("Единое расписание", 2.0),
        ("Запись через портал", 1.0),
    ]
    deps = list(await session.execute(select(MeasureDependency.measure_id,
                                             MeasureDependency.depends_on_id)))  # fmt: skip
    assert [tuple(d) for d in deps if d[0] in {m.id for m in measures}] == [
        (measures[1].id, measures[0].id)
    ]

    # edit the draft: the form shows the plan with dependencies as row numbers
    detail = await client.get(f"/roadmaps/{roadmap.id}")
    assert f'href="/roadmaps/{roadmap.id}/edit"' in detail.text
    edit = await client.get(f"/roadmaps/{roadmap.id}/edit")
    assert 'id="m_deps-2" name="m_deps" value="1"' in edit.text
    rows = _rows(p.owner.email)
    rows["m_title"][2] = "Напоминания пациентам"
    rows["m_owner"][2] = p.owner.email
    rows["m_start"][2] = TODAY.isoformat()
    rows["m_due"][2] = (TODAY + timedelta(days=90)).isoformat()
    rows["m_deps"][2] = "1, 2"
    new_title = {"title": "Запись к врачу: новый план"}
    saved = await client.post(f"/roadmaps/{roadmap.id}/edit", data={**base, **rows, **new_title})
    assert saved.status_code == 303, saved.text
    await session.refresh(roadmap)
    assert roadmap.title == "Запись к врачу: новый план"
    titles = list(await session.scalars(select(Measure.title).where(
        Measure.roadmap_id == roadmap.id).order_by(Measure.position)))  # fmt: skip
    assert titles == ["Единое расписание", "Запись через портал", "Напоминания пациентам"]

    # others may not edit: a WG secretary (403), another participant of the region (403)
    stranger = await create_user(session, Role.participant, "region:16")
    assert await login(client, stranger.email) == 303
    assert (await client.get(f"/roadmaps/{roadmap.id}/edit")).status_code == 403
    token2 = csrf_from((await client.get("/roadmaps/new")).text)
    refused = await client.post(f"/roadmaps/{roadmap.id}/edit",
                                data={**base, **rows, "csrf_token": token2})  # fmt: skip
    assert refused.status_code == 403
    assert "Изменять дорожную карту может её владелец или аналитик" in refused.text
    assert await login(client, p.wg.email) == 303
    assert (await client.get("/roadmaps/new")).status_code == 403
    assert (await client.get(f"/roadmaps/{roadmap.id}/edit")).status_code == 403


async def test_after_approval_the_plan_is_replanned_and_the_slip_shows(
    client: AsyncClient, session: AsyncSession
) -> None:
    p = await People(session).make()
    from .factories import draft

    roadmap = await draft(session, p.owner)
    await service.transition(session, p.wg, roadmap.id, "wg_approved", "", NOW)
    await service.transition(session, p.sub, roadmap.id, "subcommission_approved", "", NOW)
    assert await login(client, p.owner.email) == 303
    # the whole plan is no longer edited: 409 with the way to go
    locked = await client.get(f"/roadmaps/{roadmap.id}/edit")
    assert locked.status_code == 409
    assert "перепланированием" in locked.text
    m = (await session.scalars(select(Measure).where(Measure.roadmap_id == roadmap.id)
                               .order_by(Measure.position))).first()  # fmt: skip
    assert m is not None
    assert m.baseline_due is not None
    detail = await client.get(f"/roadmaps/{roadmap.id}")
    url = f"/roadmaps/{roadmap.id}/measures/{m.id}/plan"
    assert f'href="{url}"' in detail.text
    form = await client.get(url)
    token = csrf_from(form.text)
    new_due = m.baseline_due + timedelta(days=12)
    plan = {
        "csrf_token": token,
        "planned_start": m.planned_start.isoformat(),
        "planned_due": new_due.isoformat(),
    }
    bad = await client.post(url, data={**plan, "comment": ""})
    assert bad.status_code == 422
    assert "Укажите причину перепланирования." in bad.text
    ok = await client.post(url, data={**plan, "comment": "Поставщик"})
    assert ok.status_code == 303
    detail = await client.get(f"/roadmaps/{roadmap.id}")
    assert "сдвиг 12 дн." in detail.text
