"""Lab and effect pages over HTTP: report, upload with a precise refusal, XLSX, effects list."""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.audit import Actor
from otklik.identity.roles import Role
from otklik.labs import service
from tests.factories import create_user, csrf_from, login


async def test_study_page_upload_and_export(client: AsyncClient, session: AsyncSession) -> None:
    lab = await create_user(session, Role.lab)
    study = await service.create_study(
        session, Actor(lab.id, lab.email), title="Запись", subject="service:x", tasks=["Войти"]
    )
    assert await login(client, lab.email) == 303
    page = await client.get(f"/labs/{study.id}")
    assert page.status_code == 200
    assert "t1_seq" in page.text
    header = ",".join(service.columns(1))
    row = "P01,30-44,нет,high," + ",".join(["3"] * 9 + ["9"]) + ",да,40,0,6"
    fixed = "P01,30-44,нет,high," + ",".join(["3"] * 10) + ",да,40,0,6"
    bad = await client.post(
        f"/labs/{study.id}/upload",
        data={"csrf_token": csrf_from(page.text)},
        files={"file": ("s.csv", f"{header}\n{row}\n".encode(), "text/csv")},
    )
    assert bad.status_code == 422
    assert "sus10 должно быть от 1 до 5, указано 9" in bad.text
    good = await client.post(
        f"/labs/{study.id}/upload",
        data={"csrf_token": csrf_from(page.text)},
        files={"file": ("s.csv", f"{header}\n{fixed}\n".encode(), "text/csv")},
    )
    assert good.status_code == 303
    report = (await client.get(f"/api/v1/labs/studies/{study.id}")).json()
    assert report["participants"] == 1
    assert report["sus"]["mean"] == 50.0
    xlsx = await client.get(f"/labs/{study.id}?export=xlsx")
    assert xlsx.content[:2] == b"PK"
    assert (await client.get("/labs?q=Запись")).status_code == 200


async def test_effects_page_for_analyst(client: AsyncClient, session: AsyncSession) -> None:
    analyst = await create_user(session, Role.analyst)
    assert await login(client, analyst.email) == 303
    page = await client.get("/effects")
    assert page.status_code == 200
    assert "Очередь" in page.text
