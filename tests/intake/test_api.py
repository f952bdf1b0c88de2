"""The intake API as an information system sees it: every error code, idempotency, limits."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otklik.app import create_app
from otklik.config import Settings
from otklik.identity.audit import Actor
from otklik.intake.messages import MESSAGES
from otklik.intake.models import Contact, IntakeRejection, ServiceRecord
from otklik.intake.service import rotate_key, set_active
from otklik.outreach.models import OutreachTask
from otklik.registry.models import Organization
from tests.factories import create_organization, create_source, service_record, snils

URL = "/api/v1/service-records"


@pytest.fixture
async def org(session: AsyncSession) -> Organization:
    return await create_organization(session)


@pytest.fixture
async def key(session: AsyncSession) -> str:
    _, key = await create_source(session)
    await session.commit()
    return key


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def post(client: AsyncClient, key: str, records: list[Any]) -> dict[str, Any]:
    resp = await client.post(URL, json=records, headers=auth(key))
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def count(session: AsyncSession, model: type[Any]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_good_records_are_stored_with_contacts_and_work_items(
    client: AsyncClient, session: AsyncSession, org: Organization, key: str
) -> None:
    child = service_record(
        org.ogrn,
        recipient={"snils": snils(), "birth_date": "2018-03-01"},
        representatives=[
            {"snils": snils(), "relation": "parent", "portal_account_confirmed": True},
            {"snils": snils(), "relation": "guardian", "email": "g@example.ru"},
        ],
        life_situation_code="birth_of_child",
    )
    body = await post(client, key, [service_record(org.ogrn), child])
    assert body == {"accepted": 2, "duplicates": 0, "rejected": 0, "errors": []}
    records = (await session.scalars(select(ServiceRecord).order_by(ServiceRecord.id))).all()
    assert [r.age_band for r in records] == ["45-59", "7-13"]
    assert [r.is_minor for r in records] == [False, True]
    assert await count(session, Contact) == 4
    assert await count(session, OutreachTask) == 2
    assert all(r.received_at - r.served_at < timedelta(hours=3) for r in records)


async def test_ndjson_with_a_truncated_line_keeps_the_good_lines(
    client: AsyncClient, session: AsyncSession, org: Organization, key: str
) -> None:
    lines = [orjson.dumps(service_record(org.ogrn)) for _ in range(3)]
    lines[1] = lines[1][:40]
    resp = await client.post(
        URL,
        content=b"\n".join(lines) + b"\n",
        headers={**auth(key), "Content-Type": "application/x-ndjson"},
    )
    body = resp.json()
    assert (body["accepted"], body["rejected"]) == (2, 1)
    assert body["errors"][0]["index"] == 1
    assert body["errors"][0]["code"] == "invalid_line"
    assert await count(session, ServiceRecord) == 2


async def test_same_record_again_is_a_duplicate_and_changed_content_a_conflict(
    client: AsyncClient, session: AsyncSession, org: Organization, key: str
) -> None:
    record = service_record(org.ogrn)
    assert (await post(client, key, [record]))["accepted"] == 1
    again = await post(client, key, [record])
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 1, 0)
    changed = copy.deepcopy(record)
    changed["service_code"] = "health.checkup"
    conflict = await post(client, key, [changed])
    assert conflict["errors"][0]["code"] == "conflict"
    assert await count(session, ServiceRecord) == 1
    assert await count(session, OutreachTask) == 1


async def test_record_ids_are_per_source(
    client: AsyncClient, session: AsyncSession, org: Organization, key: str
) -> None:
    _, other = await create_source(session)
    await session.commit()
    record = service_record(org.ogrn)
    assert (await post(client, key, [record]))["accepted"] == 1
    assert (await post(client, other, [record]))["accepted"] == 1


def _mutations(ogrn: str, org_other_type: str, retired: str) -> list[tuple[str, Any, str, str]]:
    """(description, record or mutation, field, expected code)."""
    now = datetime.now(UTC)
    return [
        ("not an object", 42, "", "not_an_object"),
        ("unknown field", {"full_name": "Иванов"}, "full_name", "unknown_field"),
        ("missing record_id", {"record_id": None}, "record_id", "required"),
        ("number for string", {"service_code": 5}, "service_code", "invalid_type"),
        ("record id with spaces", {"record_id": "A B"}, "record_id", "invalid_record_id"),
        (
            "bad OGRN checksum",
            {"organization_ogrn": ogrn[:-1] + str((int(ogrn[-1]) + 1) % 10)},
            "organization_ogrn",
            "invalid_ogrn",
        ),
        (
            "bad SNILS checksum",
            {"recipient": {"snils": "112-233-445 96", "birth_date": "1980-01-01"}},
            "recipient.snils",
            "invalid_snils",
        ),
        ("no time zone", {"served_at": "2026-11-20T10:15:00"}, "served_at", "invalid_datetime"),
        (
            "future",
            {"served_at": (now + timedelta(days=1)).isoformat()},
            "served_at",
            "served_in_future",
        ),
        ("too old", {"served_at": (now - timedelta(days=400)).isoformat()}, "served_at", "too_old"),
        (
            "bad birth date",
            {"recipient": {"snils": snils(), "birth_date": "01.05.1980"}},
            "recipient.birth_date",
            "invalid_date",
        ),
        (
            "born after service",
            {"recipient": {"snils": snils(), "birth_date": "2099-01-01"}},
            "recipient.birth_date",
            "implausible_birth_date",
        ),
        (
            "bad relation",
            {
                "recipient": {"snils": snils(), "birth_date": "2015-01-01"},
                "representatives": [{"snils": snils(), "relation": "neighbour"}],
            },
            "representatives[0].relation",
            "invalid_relation",
        ),
        (
            "bad e-mail",
            {"recipient": {"snils": snils(), "birth_date": "1980-01-01", "email": "a@b"}},
            "recipient.email",
            "invalid_email",
        ),
        (
            "bad phone",
            {"recipient": {"snils": snils(), "birth_date": "1980-01-01", "phone": "12"}},
            "recipient.phone",
            "invalid_phone",
        ),
        (
            "six representatives",
            {"representatives": [{"snils": snils(), "relation": "other"}] * 6},
            "representatives",
            "too_many_representatives",
        ),
        (
            "minor alone",
            {"recipient": {"snils": snils(), "birth_date": "2015-01-01"}},
            "representatives",
            "representative_required",
        ),
        (
            "unknown organization",
            {"organization_ogrn": "1027700132195"},
            "organization_ogrn",
            "unknown_organization",
        ),
        (
            "not participating",
            {"organization_ogrn": retired},
            "organization_ogrn",
            "organization_not_participating",
        ),
        (
            "unknown service",
            {"service_code": "health.teleportation"},
            "service_code",
            "unknown_service",
        ),
        (
            "service of another type",
            {"organization_ogrn": org_other_type},
            "service_code",
            "service_not_for_type",
        ),
        (
            "unknown life situation",
            {"life_situation_code": "moving_to_mars"},
            "life_situation_code",
            "unknown_life_situation",
        ),
    ]


async def test_every_record_error_code_is_reported_and_good_records_kept(
    client: AsyncClient, session: AsyncSession, org: Organization, key: str
) -> None:
    school = await create_organization(session, type_code="edu_general", founder="r77-education")
    retired = await create_organization(
        session, participates_from=date(2025, 6, 15), participates_to=date(2025, 12, 31)
    )
    await session.commit()
    cases = _mutations(org.ogrn, school.ogrn, retired.ogrn)
    batch: list[Any] = [service_record(org.ogrn)]
    for _, change, _, _ in cases:
        batch.append(change if not isinstance(change, dict) else service_record(org.ogrn, **change))
    batch.append(batch[0])  # the same record_id twice in one batch
    body = await post(client, key, batch)
    assert body["accepted"] == 1
    assert body["rejected"] == len(cases) + 1
    found = {(e["index"], e["field"], e["code"]) for e in body["errors"]}
    for i, (what, _, field, code) in enumerate(cases, start=1):
        assert (i, field, code) in found, what
    assert (len(batch) - 1, "record_id", "duplicate_in_batch") in found
    assert all(e["message"] for e in body["errors"])
    assert await count(session, ServiceRecord) == 1
    stored = await session.scalar(
        select(func.sum(IntakeRejection.count)).where(IntakeRejection.code == "invalid_snils")
    )
    assert stored == 1


@pytest.mark.parametrize(
    ("headers", "content", "status", "code"),
    [
        ({}, b"[]", 401, "unauthorized"),
        ({"Authorization": "Bearer otks_wrong"}, b"[]", 401, "unauthorized"),
        (None, b"{not json", 400, "invalid_json"),
        (None, b'{"record_id": "x"}', 400, "not_a_list"),
        (None, b"[" + b",".join([b"{}"] * 10_001) + b"]", 413, "too_many_records"),
        ({"Content-Type": "text/csv"}, b"a,b", 415, "unsupported_media_type"),
    ],
)
async def test_whole_request_errors_have_json_bodies(
    client: AsyncClient,
    key: str,
    headers: dict[str, str] | None,
    content: bytes,
    status: int,
    code: str,
) -> None:
    sent = {"Content-Type": "application/json", **auth(key)} if headers is None else headers
    if headers and "Content-Type" in headers:
        sent = {**auth(key), **headers}
    resp = await client.post(URL, content=content, headers=sent)
    assert resp.status_code == status
    assert resp.json()["error"]["code"] == code


async def test_fifty_megabytes_are_refused_before_reading(client: AsyncClient, key: str) -> None:
    body = b"[" + b" " * (50 * 2**20) + b"]"
    resp = await client.post(
        URL, content=body, headers={**auth(key), "Content-Type": "application/json"}
    )
    assert resp.status_code == 413
    assert resp.json()["error"]["code"] == "payload_too_large"


async def test_rate_limit_per_source(
    tmp_path: Path, sessionmaker: async_sessionmaker[AsyncSession], key: str
) -> None:
    settings = Settings(
        env="test",
        data_dir=tmp_path,
        secret_key="t" * 40,
        pii_key="p" * 40,
        intake_requests_per_minute=2,
    )
    app: FastAPI = create_app(settings)
    app.state.sessionmaker = sessionmaker
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as c:
        codes = [(await c.post(URL, json=[], headers=auth(key))).status_code for _ in range(3)]
        last = await c.post(URL, json=[], headers=auth(key))
    assert codes == [200, 200, 429]
    assert last.json()["error"]["code"] == "rate_limited"
    assert int(last.headers["Retry-After"]) >= 1


async def test_rotated_key_works_in_grace_and_disabled_source_is_refused(
    client: AsyncClient, session: AsyncSession, key: str
) -> None:
    source_name = (
        await session.execute(text("SELECT name FROM sources ORDER BY id DESC LIMIT 1"))
    ).scalar_one()
    new = await rotate_key(session, Actor.system("test"), source_name)
    await session.commit()
    assert (await client.post(URL, json=[], headers=auth(key))).status_code == 200
    assert (await client.post(URL, json=[], headers=auth(new))).status_code == 200
    await set_active(session, Actor.system("test"), source_name, False)
    await session.commit()
    resp = await client.post(URL, json=[], headers=auth(new))
    assert resp.status_code == 401


async def test_a_failure_mid_batch_leaves_nothing_half_written(
    client: AsyncClient, session: AsyncSession, org: Organization, key: str
) -> None:
    # The database refuses the work item of one record: the whole batch must roll back.
    await session.execute(
        text(
            "CREATE FUNCTION fail_outreach() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN IF (SELECT count(*) FROM outreach_tasks) >= 1 THEN"
            " RAISE EXCEPTION 'disk full'; END IF; RETURN NEW; END $$"
        )
    )
    await session.execute(
        text(
            "CREATE TRIGGER fail_outreach BEFORE INSERT ON outreach_tasks"
            " FOR EACH ROW EXECUTE FUNCTION fail_outreach()"
        )
    )
    await session.commit()
    resp = await client.post(
        URL, json=[service_record(org.ogrn) for _ in range(5)], headers=auth(key)
    )
    assert resp.status_code == 500
    assert "disk full" not in resp.text
    for model in (ServiceRecord, Contact, OutreachTask):
        assert await count(session, model) == 0


def test_every_error_code_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "intake.md").read_text(encoding="utf-8")
    missing = [code for code in MESSAGES if f"`{code}`" not in doc]
    assert missing == []


async def test_openapi_documents_the_record_and_every_error_shape(client: AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    post = schema["paths"]["/api/v1/service-records"]["post"]
    assert set(post["requestBody"]["content"]) == {"application/json", "application/x-ndjson"}
    assert {"200", "400", "401", "413", "415", "429"} <= set(post["responses"])
    record = schema["components"]["schemas"]["ServiceRecordIn"]
    assert {"record_id", "organization_ogrn", "service_code", "served_at", "recipient"} <= set(
        record["required"]
    )
    assert "PersonIn" in schema["components"]["schemas"]


def _person(**changes: Any) -> dict[str, Any]:
    return {"snils": snils(), "birth_date": "1980-05-01", **changes}


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"recipient": _person(snils="000-000-000 00")}, "recipient.snils", "invalid_snils"),
        ({"recipient": _person(snils="111-111-111 45")}, "recipient.snils", "invalid_snils"),
        ({"recipient": _person(snils="1-1-2-2-3-3-4-4-5-9-5")}, "recipient.snils", "invalid_snils"),
        ({"recipient": _person(birth_date="19800501")}, "recipient.birth_date", "invalid_date"),
        ({"recipient": _person(email="a\x00b@example.ru")}, "recipient.email", "invalid_email"),
        ({"recipient": _person(email="a\x07b@example.ru")}, "recipient.email", "invalid_email"),
        ({"recipient": _person(email="ab\u202e@example.ru")}, "recipient.email", "invalid_email"),
        ({"recipient": _person(email="a\u200bb@example.ru")}, "recipient.email", "invalid_email"),
    ],
)
async def test_intake_refuses_what_its_docs_refuse(
    client: AsyncClient, org: Organization, key: str, change: dict[str, Any], field: str, code: str
) -> None:
    body = await post(client, key, [service_record(org.ogrn, **change)])
    assert body["rejected"] == 1
    assert [(e["field"], e["code"]) for e in body["errors"]] == [(field, code)]


async def test_six_representatives_are_one_problem_not_two(
    client: AsyncClient, org: Organization, key: str
) -> None:
    reps = [{"snils": snils(), "relation": "parent"} for _ in range(6)]
    record = service_record(org.ogrn, representatives=reps)
    record["recipient"]["birth_date"] = "2015-01-01"
    body = await post(client, key, [record])
    assert [e["code"] for e in body["errors"]] == ["too_many_representatives"]


async def test_duplicate_keys_and_a_missing_content_type_are_refused(
    client: AsyncClient, org: Organization, key: str
) -> None:
    good = orjson.dumps([service_record(org.ogrn)])
    twice = b'[{"record_id": "A-1", "record_id": "A-2"}]'
    resp = await client.post(
        URL, content=twice, headers={**auth(key), "Content-Type": "application/json"}
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "duplicate_key"
    assert "record_id" in resp.json()["error"]["message"]
    resp = await client.post(
        URL, content=twice[1:-1], headers={**auth(key), "Content-Type": "application/x-ndjson"}
    )
    assert resp.json()["errors"][0]["code"] == "invalid_line"
    resp = await client.post(URL, content=good, headers=auth(key))
    assert resp.status_code == 415
    assert resp.json()["error"]["code"] == "unsupported_media_type"
