"""Roadmap pages over HTTP: list with filters and exports, detail with Gantt, forms."""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.roadmaps import risk
from tests.factories import csrf_from, login

from .factories import NOW, TODAY, People, active, draft


async def test_list_detail_exports_and_report_form(
    client: AsyncClient, session: AsyncSession
) -> None:
    p = await People(session).make()
    roadmap = await active(session, p)
    other = await draft(session, p.owner, title="Другая карта про очереди")
    await risk.recompute(session, NOW, TODAY)
    assert await login(client, p.owner.email) == 303
    page = await client.get("/roadmaps")
    assert page.status_code == 200
    assert "Мои отчёты о ходе выполнения" in page.text
    assert "просрочен" in page.text
    assert "Уведомления о росте риска" in page.text
    found = await client.get("/roadmaps", params={"q": "очеред"})
    assert "Другая карта" in found.text
    assert f'href="/roadmaps/{roadmap.id}"' not in found.text.split('id="results"')[1]
    high = await client.get("/roadmaps", params={"risk": "high", "sort": "title"})
    assert f'href="/roadmaps/{other.id}"' not in high.text.split('id="results"')[1]
    assert f'href="/roadmaps/{roadmap.id}"' in high.text.split('id="results"')[1]
    csv = await client.get("/roadmaps", params={"export": "table", "fmt": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    assert "Запись к врачу" in csv.content.decode("utf-8-sig")
    xlsx = await client.get(f"/roadmaps/{roadmap.id}", params={"export": "measures", "fmt": "xlsx"})
    assert xlsx.content[:2] == b"PK"

    detail = await client.get(f"/roadmaps/{roadmap.id}")
    assert detail.status_code == 200
    assert "<svg" in detail.text
    assert "Диаграмма Ганта" in detail.text
    assert "срок истёк" in detail.text
    assert "Риск срыва сроков:" in detail.text

    m_id = detail.text.split(f"/roadmaps/{roadmap.id}/measures/")[1].split("/")[0]
    form = await client.get(f"/roadmaps/{roadmap.id}/measures/{m_id}/report")
    token = csrf_from(form.text)
    url = f"/roadmaps/{roadmap.id}/measures/{m_id}/report"
    bad = await client.post(url, data={"csrf_token": token, "percent": "120", "text": "x"})
    assert bad.status_code == 422
    assert "от 0 до 100" in bad.text
    past = {"csrf_token": token, "percent": "50", "text": "Сделано", "forecast_due": "2001-01-01"}
    bad = await client.post(url, data=past)
    assert bad.status_code == 422
    assert "Отчёт не принят" in bad.text
    ok = {
        "csrf_token": token,
        "percent": "100",
        "text": "Готово",
        "forecast_due": TODAY.isoformat(),
    }
    done = await client.post(url, data=ok)
    assert done.status_code == 303


async def test_transition_form_and_roles(client: AsyncClient, session: AsyncSession) -> None:
    p = await People(session).make()
    roadmap = await draft(session, p.owner)
    assert await login(client, p.wg.email) == 303
    page = await client.get(f"/roadmaps/{roadmap.id}")
    assert "Одобрена рабочей группой" in page.text
    token = csrf_from(page.text)
    url = f"/roadmaps/{roadmap.id}/transitions"
    resp = await client.post(url, data={"csrf_token": token, "to": "active"})
    assert resp.status_code == 409
    resp = await client.post(url, data={"csrf_token": token, "to": "wg_approved"})
    assert resp.status_code == 303
    page = await client.get(f"/roadmaps/{roadmap.id}")
    assert "одобрена рабочей группой" in page.text
    assert 'name="to"' not in page.text
