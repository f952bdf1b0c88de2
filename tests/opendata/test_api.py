"""Open data API: files, caching (ETag, 304), the rate limit, hostile parameters."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import date

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otklik.app import create_app
from otklik.config import Settings
from otklik.opendata import service
from otklik.registry.models import Organization
from tests.opendata.data import QUARTER, answers, populate


async def test_organizations_csv_is_streamed_with_version_licence_and_cache_headers(
    session: AsyncSession, client: AsyncClient
) -> None:
    truth = await populate(session)
    resp = await client.get("/api/open/v1/organizations.csv", params={"period": QUARTER})
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "text/csv; charset=utf-8"
    assert "content-length" not in resp.headers  # streamed
    assert resp.headers["etag"].startswith('"')
    assert resp.headers["cache-control"] == service.CACHE_CONTROL
    assert "creativecommons.org/licenses/by/4.0" in resp.headers["link"]
    assert 'filename="otklik-organizations-2026-Q3.csv"' in resp.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert [f.name for f in service.DATASETS["organizations"].fields] == list(rows[0])
    mine = [r for r in rows if r["ogrn"] in truth]
    assert len(mine) == len(truth)
    assert {r["methodology_version"] for r in rows} == {resp.headers["x-methodology-version"]}
    assert {r["period"] for r in rows} == {QUARTER}
    shown = [r for r in mine if r["suppressed"] == "false"]
    assert shown
    assert all(int(r["responses"]) == truth[r["ogrn"]] for r in shown)
    assert all(1 <= float(r["integral"]) <= 5 for r in shown)
    small = [r for r in mine if truth[r["ogrn"]] < 10]
    assert small
    assert all(r["suppressed"] == "true" and r["integral"] == "" for r in small)
    # no personal data or comment text: only the dictionary's columns exist
    assert not {"person_key", "comment", "text", "email", "phone"} & set(rows[0])


async def test_json_carries_meta_and_the_same_rows(
    session: AsyncSession, client: AsyncClient
) -> None:
    await populate(session)
    resp = await client.get("/api/open/v1/regions.json", params={"period": QUARTER})
    assert resp.status_code == 200
    body = json.loads(resp.text)
    assert body["meta"]["licence"]["name"] == "CC BY 4.0"
    assert body["meta"]["methodology_version"] == resp.headers["x-methodology-version"]
    assert body["meta"]["period"] == QUARTER
    codes = {r["code"]: r for r in body["data"]}
    assert set(codes) >= {"16", "77", "50"}
    assert codes["50"]["suppressed"] is True or codes["50"]["integral"] is not None
    csv_rows = list(
        csv.DictReader(
            io.StringIO(
                (await client.get("/api/open/v1/regions.csv", params={"period": QUARTER})).text
            )
        )
    )
    assert [r["code"] for r in csv_rows] == [r["code"] for r in body["data"]]


async def test_etag_answers_304_until_the_data_changes(
    session: AsyncSession, client: AsyncClient
) -> None:
    await populate(session)
    url = "/api/open/v1/organizations.csv"
    first = await client.get(url, params={"period": QUARTER})
    tag = first.headers["etag"]
    again = await client.get(url, params={"period": QUARTER}, headers={"If-None-Match": tag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == tag
    assert again.headers["cache-control"] == service.CACHE_CONTROL
    other = await client.get(url, params={"period": QUARTER}, headers={"If-None-Match": '"x"'})
    assert other.status_code == 200
    assert other.content == first.content  # the same file again (made once, kept by its tag)
    # an answer in another quarter of the year changes the quarter's protection: a new tag
    org = (await session.scalars(select(Organization).limit(1))).one()
    await answers(session, org, 1, date(2026, 11, 2))
    await session.commit()
    later = await client.get(url, params={"period": QUARTER}, headers={"If-None-Match": tag})
    assert later.status_code == 200
    tag = later.headers["etag"]
    # a late answer changes the quarter: a new tag, a full answer
    await answers(session, org, 1)
    await session.commit()
    changed = await client.get(url, params={"period": QUARTER}, headers={"If-None-Match": tag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != tag
    # a filter is another file
    filtered = await client.get(url, params={"period": QUARTER, "region": "16"})
    assert filtered.headers["etag"] != changed.headers["etag"]
    dictionary = await client.get("/api/open/v1/dictionary")
    cached = await client.get(
        "/api/open/v1/dictionary", headers={"If-None-Match": dictionary.headers["etag"]}
    )
    assert cached.status_code == 304


@pytest.fixture
async def limited(
    tmp_path: object, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[tuple[FastAPI, AsyncClient]]:
    settings = Settings(
        env="test",
        data_dir=tmp_path,
        secret_key="t" * 40,
        pii_key="p" * 40,
        opendata_requests_per_minute=3,
    )
    app = create_app(settings)
    app.state.sessionmaker = sessionmaker
    transport = ASGITransport(app=app, client=("203.0.113.7", 5000))
    async with AsyncClient(transport=transport, base_url="http://test") as c:
        yield app, c


async def test_rate_limit_per_address_answers_429_with_retry_after(
    limited: tuple[FastAPI, AsyncClient],
) -> None:
    app, client = limited
    for _ in range(3):
        assert (await client.get("/api/open/v1/dictionary")).status_code == 200
    resp = await client.get("/api/open/v1/organizations.csv")
    assert resp.status_code == 429
    assert int(resp.headers["retry-after"]) >= 1
    assert resp.json()["error"]["code"] == "rate_limited"
    assert "Слишком много запросов" in resp.json()["error"]["message"]
    # another address has its own bucket
    other = ASGITransport(app=app, client=("198.51.100.9", 5000))
    async with AsyncClient(transport=other, base_url="http://test") as c:
        assert (await c.get("/api/open/v1/dictionary")).status_code == 200


HOSTILE = [
    ("/api/open/v1/organizations.csv?period=2026-Q3%00", 400, "nul_character"),
    ("/api/open/v1/organizations.csv?period=2026-Q5", 400, "bad_quarter"),
    ("/api/open/v1/organizations.csv?period=2026-03", 400, "bad_quarter"),
    ("/api/open/v1/organizations.csv?period=2026", 400, "bad_quarter"),
    ("/api/open/v1/organizations.csv?period=99999999999999999999-Q1", 400, "bad_quarter"),
    ("/api/open/v1/organizations.csv?period=1999-Q4", 400, "bad_quarter"),
    ("/api/open/v1/organizations.csv?period=2099-Q1", 404, "quarter_not_published"),
    ("/api/open/v1/organizations.csv?period=2026-Q4", 404, "quarter_not_published"),
    ("/api/open/v1/organizations.csv?region=99", 404, "region_not_found"),
    ("/api/open/v1/organizations.csv?region=1e9", 400, "bad_region"),
    ("/api/open/v1/organizations.csv?type=spaceport", 404, "type_not_found"),
    ("/api/open/v1/organizations.csv?founder=nobody", 404, "founder_not_found"),
    ("/api/open/v1/organizations.csv?period=" + "9" * 100, 422, "validation_failed"),
    ("/api/open/v1/regions.json?period=2026-q3", 400, "bad_quarter"),
    ("/api/open/v1/organizations/123", 400, "bad_ogrn"),
    ("/api/open/v1/organizations/99999999999999999999999", 400, "bad_ogrn"),
    ("/api/open/v1/organizations/1027700132195", 404, "organization_not_found"),
    ("/api/open/v1/organizations/1027700132195?period=2026-Q9", 400, "bad_quarter"),
]


@pytest.mark.parametrize(("url", "status", "code"), HOSTILE)
async def test_hostile_parameters_get_precise_russian_errors(
    client: AsyncClient, url: str, status: int, code: str
) -> None:
    resp = await client.get(url)
    assert resp.status_code == status, resp.text
    error = resp.json()["error"]
    assert error["code"] == code
    assert any("а" <= ch <= "я" for ch in error["message"].lower()), error["message"]


async def test_future_quarter_names_the_last_published(client: AsyncClient) -> None:
    resp = await client.get("/api/open/v1/types.csv", params={"period": "2026-Q4"})
    assert "Последний опубликованный — 2026-Q3" in resp.json()["error"]["message"]


async def test_dictionary_lists_every_dataset_and_field(client: AsyncClient) -> None:
    body = (await client.get("/api/open/v1/dictionary")).json()
    assert body["licence"]["name"] == "CC BY 4.0"
    assert body["rate_limit"]["per_minute"] > 0
    assert {d["name"] for d in body["datasets"]} == set(service.DATASETS)
    for d in body["datasets"]:
        assert all(f["title"] for f in d["fields"])
        assert {"period", "methodology_version"} <= {f["name"] for f in d["fields"]}


async def test_organization_json_and_quarters(session: AsyncSession, client: AsyncClient) -> None:
    truth = await populate(session)
    big = max(truth, key=lambda o: truth[o])
    body = (await client.get(f"/api/open/v1/organizations/{big}?period={QUARTER}")).json()
    assert body["suppressed"] is False
    assert body["responses"] == truth[big]
    assert body["integral"]["ci_low"] <= body["integral"]["value"] <= body["integral"]["ci_high"]
    assert body["you_said_we_did"] == f"/o/{big}/you-said-we-did"
    assert body["trend"][-1]["period"] == QUARTER
    small = min(truth, key=lambda o: truth[o])
    hidden = (await client.get(f"/api/open/v1/organizations/{small}?period={QUARTER}")).json()
    assert hidden["suppressed"] is True
    assert hidden["responses"] is None
    assert hidden["integral"]["value"] is None
    assert all(i["mean"] is None for i in hidden["items"])
    quarters = (await client.get("/api/open/v1/quarters")).json()["quarters"]
    assert quarters[0] == QUARTER
