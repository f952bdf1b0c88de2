"""The statistics intake as an information system sees it: errors, idempotency, replacement."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.mszu import repository, statistics
from otklik.mszu.models import ServiceStatistic, ServiceStatisticChange
from tests.factories import create_source

URL = "/api/v1/service-statistics"


@pytest.fixture
async def key(session: AsyncSession) -> str:
    _, key = await create_source(session)
    await session.commit()
    return key


def row(**changes: Any) -> dict[str, Any]:
    r: dict[str, Any] = {
        "service_code": "health.appointment_online",
        "region_code": "16",
        "month": "2025-10",
        "channel": "portal",
        "applications": 120,
    }
    r.update(changes)
    return r


async def post(client: AsyncClient, key: str, rows: list[Any]) -> dict[str, Any]:
    resp = await client.post(URL, json=rows, headers={"Authorization": f"Bearer {key}"})
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def test_accepts_replaces_with_audit_and_counts_duplicates(
    client: AsyncClient, session: AsyncSession, key: str
) -> None:
    first = await post(client, key, [row(), row(channel="in_person", applications=80)])
    assert first == {"accepted": 2, "replaced": 0, "duplicates": 0, "rejected": 0, "errors": []}
    again = await post(client, key, [row(), row(channel="in_person", applications=95)])
    assert (again["accepted"], again["replaced"], again["duplicates"]) == (0, 1, 1)
    stored = await session.scalar(
        select(ServiceStatistic.applications).where(ServiceStatistic.channel == "in_person")
    )
    assert stored == 95
    change = (await session.scalars(select(ServiceStatisticChange))).one()
    assert (change.old_applications, change.new_applications) == (80, 95)


async def test_every_bad_row_gets_a_precise_russian_error(
    client: AsyncClient, session: AsyncSession, key: str
) -> None:
    today = statistics.today_moscow()
    this_month = f"{today:%Y-%m}"
    rows = [
        row(service_code="no.such"),
        row(region_code="99"),
        row(channel="fax"),
        row(applications=-1),
        row(month=this_month),
        row(month="2025-13"),
        row(applications="12"),
        row(extra=1),
        row(month="2025-01"),
        row(month="2025-01"),
        row(month="2025-02"),
    ]
    body = await post(client, key, rows)
    codes = {e["index"]: e["code"] for e in body["errors"]}
    assert codes == {
        0: "unknown_service",
        1: "unknown_region",
        2: "unknown_channel",
        3: "negative_count",
        4: "month_in_future",
        5: "invalid_month",
        6: "invalid_type",
        7: "unknown_field",
        8: "duplicate_in_batch",
        9: "duplicate_in_batch",
    }
    assert (body["accepted"], body["rejected"]) == (1, 10)
    messages = {e["code"]: e["message"] for e in body["errors"]}
    assert "не найден" in messages["unknown_region"]
    assert "отрицательным" in messages["negative_count"]
    assert this_month in messages["month_in_future"]
    assert "строка 8" in messages["duplicate_in_batch"]
    n = await session.scalar(select(func.count()).select_from(ServiceStatistic))
    assert n == 1


async def test_a_closed_quarter_refuses_changes_but_not_repeats(
    client: AsyncClient, session: AsyncSession, key: str
) -> None:
    await post(client, key, [row(month="2025-07")])
    await repository.add_closure(session, date(2025, 7, 1), "test")
    await session.commit()
    body = await post(client, key, [row(month="2025-07"), row(month="2025-08", applications=5)])
    assert body["duplicates"] == 1
    assert [e["code"] for e in body["errors"]] == ["quarter_closed"]
    changed = await post(client, key, [row(month="2025-07", applications=121)])
    assert changed["errors"][0]["code"] == "quarter_closed"
    assert "нельзя ни добавить, ни заменить" in changed["errors"][0]["message"]


async def test_whole_request_errors(client: AsyncClient, key: str) -> None:
    resp = await client.post(URL, json=[row()])
    assert resp.status_code == 401
    auth = {"Authorization": f"Bearer {key}"}
    resp = await client.post(URL, content=b"{not json", headers=auth)
    assert resp.status_code == 415  # no Content-Type: refused, as on the service-records intake
    json_type = {**auth, "Content-Type": "application/json"}
    resp = await client.post(URL, content=b"{not json", headers=json_type)
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "invalid_json"
    ndjson = orjson.dumps(row()) + b"\n{broken\n"
    resp = await client.post(
        URL,
        content=ndjson,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"},
    )
    body = resp.json()
    assert (body["accepted"], body["errors"][0]["code"]) == (1, "invalid_line")


async def test_file_import_uses_the_same_checks(session: AsyncSession, tmp_path: Path) -> None:
    source, _ = await create_source(session)
    path = tmp_path / "stats.csv"
    path.write_text(
        "service_code,region_code,month,channel,applications\n"
        "health.appointment_online,16,2025-09,portal,10\n"
        "health.appointment_online,16,2025-09,proactive,-3\n",
        encoding="utf-8",
    )
    report = await statistics.ingest_file(session, source.id, statistics.read_rows(path, 10**6))
    assert (report.accepted, report.rejected) == (1, 1)
    assert report.errors[0][0] == 3  # the file's line
    assert report.errors[0][2] == "negative_count"
    founders = tmp_path / "founders.csv"
    founders.write_text(
        "service_code,region_code,founder_code,month,channel,applications\n"
        "health.appointment_online,16,r16-health,2025-08,portal,10\n"
        "health.appointment_online,16,r16-health,2025-08,in_person,4\n"
        "health.appointment_online,16,nobody,2025-07,portal,1\n",
        encoding="utf-8",
    )
    report = await statistics.ingest_file(session, source.id, statistics.read_rows(founders, 10**6))
    assert (report.accepted, report.rejected) == (2, 1)
    assert report.errors[0][:3] == (4, "founder_code", "unknown_founder")


async def test_openapi_documents_the_new_endpoints(client: AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    post = schema["paths"]["/api/v1/service-statistics"]["post"]
    assert set(post["requestBody"]["content"]) == {"application/json", "application/x-ndjson"}
    assert {"200", "400", "401", "413", "415", "429"} <= set(post["responses"])
    row = schema["components"]["schemas"]["StatisticIn"]
    assert set(row["required"]) == {
        "service_code",
        "region_code",
        "month",
        "channel",
        "applications",
    }
    for path in (
        "/api/v1/mszu/shares",
        "/api/v1/priorities",
        "/api/v1/participants/{code}/kpis",
        "/api/v1/mszu/list/{number}",
    ):
        assert "200" in schema["paths"][path]["get"]["responses"], path
    assert "RankedOut" in schema["components"]["schemas"]


async def test_the_founder_is_an_optional_part_of_the_key(
    client: AsyncClient, session: AsyncSession, key: str
) -> None:
    with_founder = row(founder_code="r16-health")
    body = await post(client, key, [with_founder, row(founder_code="minzdrav")])
    assert (body["accepted"], body["rejected"]) == (2, 0)
    again = await post(client, key, [with_founder, {**with_founder, "applications": 99}])
    assert again["rejected"] == 2  # the same key twice in one batch: neither is taken
    assert {e["code"] for e in again["errors"]} == {"duplicate_in_batch"}
    replaced = await post(client, key, [{**with_founder, "applications": 99}])
    assert (replaced["replaced"], replaced["accepted"]) == (1, 0)
    change = (await session.scalars(select(ServiceStatisticChange))).one()
    assert (change.founder_code, change.old_applications, change.new_applications) == (
        "r16-health",
        120,
        99,
    )
    stored = await session.scalar(
        select(func.count())
        .select_from(ServiceStatistic)
        .where(ServiceStatistic.month == date(2025, 10, 1))
    )
    assert stored == 2


async def test_founder_errors_are_precise_and_nothing_is_mixed(
    client: AsyncClient, session: AsyncSession, key: str
) -> None:
    body = await post(
        client,
        key,
        [
            row(founder_code="nobody"),
            row(founder_code="r50-health", month="2025-09"),
            row(founder_code=5, month="2025-08"),
            row(month="2025-07"),
            row(month="2025-07", founder_code="minzdrav"),
        ],
    )
    got = {(e["index"], e["field"], e["code"]) for e in body["errors"]}
    assert got == {
        (0, "founder_code", "unknown_founder"),
        (1, "founder_code", "founder_region_mismatch"),
        (2, "founder_code", "invalid_type"),
        (3, "founder_code", "mixed_founder"),
        (4, "founder_code", "mixed_founder"),
    }
    assert (body["accepted"], body["rejected"]) == (0, 5)
    messages = {e["index"]: e["message"] for e in body["errors"]}
    assert "с учредителями" in messages[3]
    assert "без учредителя" in messages[4]
    # a stored row without a founder: a later founder row for the same key is refused too
    assert (await post(client, key, [row(month="2025-06")]))["accepted"] == 1
    later = await post(
        client, key, [row(month="2025-06", channel="in_person", founder_code="minzdrav")]
    )
    assert [e["code"] for e in later["errors"]] == ["mixed_founder"]
    assert "без учредителя" in later["errors"][0]["message"]
    # switching: the old row replaced with 0 first, then the breakdown is taken
    assert (await post(client, key, [row(month="2025-06", applications=0)]))["replaced"] == 1
    switched = await post(
        client, key, [row(month="2025-06", channel="in_person", founder_code="minzdrav")]
    )
    assert (switched["accepted"], switched["rejected"]) == (1, 0)


async def test_copy_special_characters_are_escaped_not_fatal(client: AsyncClient, key: str) -> None:
    """A tab, a new line or a backslash in a code reaches the stage intact and is refused as an
    unknown service, not as a broken COPY."""
    body = await post(client, key, [row(service_code="a\tb\\c\nd"), row(region_code="1\\")])
    assert [(e["index"], e["code"]) for e in body["errors"]] == [
        (0, "unknown_service"),
        (1, "unknown_region"),
    ]
