"""Public pages: no sign-in, titles and canonical URLs, suppression, search, sitemap, robots."""

from __future__ import annotations

import re

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import create_organization
from tests.opendata.data import QUARTER, answers, populate


async def test_organization_page_shows_scores_trend_and_links(
    session: AsyncSession, client: AsyncClient
) -> None:
    truth = await populate(session)
    big = max(truth, key=lambda o: truth[o])
    resp = await client.get(f"/o/{big}")
    assert resp.status_code == 200
    html = resp.text
    assert re.search(r"<title>[^<]+, [^<]+: оценки граждан — Отклик</title>", html)
    assert f'<link rel="canonical" href="http://127.0.0.1:8000/o/{big}">' in html
    assert f'href="/o/{big}/you-said-we-did"' in html
    assert "Интегральный индекс" in html
    assert "95\u00a0% интервал" in html
    assert "Динамика по кварталам" in html
    assert "<script" not in html.split("</head>")[1]  # server-rendered, no script needed
    small = min(truth, key=lambda o: truth[o])
    hidden = (await client.get(f"/o/{small}")).text
    assert "Недостаточно данных" in hidden
    assert "95\u00a0% интервал" not in hidden


async def test_region_pages_show_tiles_and_ranking(
    session: AsyncSession, client: AsyncClient
) -> None:
    await populate(session)
    index = await client.get("/r")
    assert index.status_code == 200
    assert 'class="tiles"' in index.text
    assert "Рейтинг субъектов РФ" in index.text
    page = await client.get("/r/16", params={"period": QUARTER})
    assert page.status_code == 200
    assert "Рейтинг организаций" in page.text
    assert 'aria-current="page"' in page.text
    assert f'href="http://127.0.0.1:8000/r/16?period={QUARTER}"' in page.text
    assert (await client.get("/r/99")).status_code == 404
    assert (await client.get("/r/abc")).status_code == 400
    assert (await client.get("/r/16?period=2030-Q1")).status_code == 404


async def test_search_by_name_ogrn_region_and_address_tells_namesakes_apart(
    session: AsyncSession, client: AsyncClient
) -> None:
    a = await create_organization(session, region="16", name="Поликлиника № 1")
    b = await create_organization(session, region="77", name="Поликлиника № 1")
    a.address, b.address = "г. Казань, ул. Баумана, 1", "г. Москва, ул. Тверская, 1"
    await answers(session, a, 12)
    await session.commit()
    html = (await client.get("/search", params={"q": "Поликлиника № 1"})).text
    assert "Найдено: 2." in html
    assert "г. Казань, ул. Баумана, 1" in html
    assert "г. Москва, ул. Тверская, 1" in html
    assert "Республика Татарстан" in html
    by_ogrn = (await client.get("/search", params={"q": a.ogrn})).text
    assert "Найдено: 1." in by_ogrn
    assert f"/o/{a.ogrn}" in by_ogrn
    by_address = (await client.get("/search", params={"q": "Тверская"})).text
    assert "Найдено: 1." in by_address
    assert f"/o/{b.ogrn}" in by_address
    by_region = (await client.get("/search", params={"q": "Поликлиника", "region": "16"})).text
    assert "Найдено: 1." in by_region
    assert (await client.get("/search", params={"q": "x\x00"})).status_code == 400
    assert (await client.get("/search", params={"region": "zz"})).status_code == 400


async def test_sitemap_robots_and_opendata_page(session: AsyncSession, client: AsyncClient) -> None:
    org = await create_organization(session, region="16")
    await session.commit()
    sitemap = await client.get("/sitemap.xml")
    assert sitemap.status_code == 200
    assert sitemap.headers["content-type"].startswith("application/xml")
    assert f"<loc>http://127.0.0.1:8000/o/{org.ogrn}</loc>" in sitemap.text
    assert "<loc>http://127.0.0.1:8000/r/16</loc>" in sitemap.text
    robots = await client.get("/robots.txt")
    assert "Sitemap: http://127.0.0.1:8000/sitemap.xml" in robots.text
    assert "Disallow: /s/" in robots.text  # the respondents' personal links
    page = await client.get("/opendata")
    assert page.status_code == 200
    assert "CC BY 4.0" in page.text
    assert "Словарь данных" in page.text
    assert "/api/open/v1/organizations.csv?period=" in page.text
    home = await client.get("/")
    assert 'href="/opendata"' in home.text
    assert 'href="/search"' in home.text
