"""Logs, health, readiness and metrics as an operator reads them (issue 21, item 4).

The log of a representative run (intake with personal data, the respondent form with its token,
a 500 on a token route, a validation error) is captured through the production handler and
scanned: no token, SNILS, e-mail, phone or comment text; every line JSON with time, level and
logger; the access log names route templates and never a query string.
"""

from __future__ import annotations

import io
import logging
import re
import socket
from collections.abc import Iterator
from typing import Any

import orjson
import psycopg
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otklik.app import create_app
from otklik.config import Settings
from otklik.db import create_engine, session_factory, to_async_url, to_libpq_url
from otklik.kit import logs
from otklik.worker import run_forever
from tests.factories import create_organization, create_source, service_record, snils
from tests.surveys.helpers import form, invite

SNILS_RE = re.compile(r"\d{3}-\d{3}-\d{3} \d{2}")
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
PHONE_RE = re.compile(r"\+7\d{10}")
COMMENT = "Врач Иванов был груб, звоните мне"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Every log record of the test through the production handler (JSON, redacted)."""
    out = io.StringIO()
    root = logging.getLogger()
    level = root.level
    saved = [h for h in root.handlers if h.get_name() == "otklik"]
    logs.configure("INFO", "json", stream=out)
    yield out
    for h in [h for h in root.handlers if h.get_name() == "otklik"]:
        root.removeHandler(h)
    for h in saved:
        root.addHandler(h)
    root.setLevel(level)


def _lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # nothing listens on it once the socket is closed


def _boom_app(app: FastAPI) -> FastAPI:
    async def boom(token: str) -> None:
        raise RuntimeError(f"something broke for link {token}")

    app.add_api_route("/s/{token}/boom", boom, methods=["GET"])
    return app


async def test_a_representative_run_logs_no_personal_data(
    session: AsyncSession, settings: Settings, app: FastAPI, captured: io.StringIO
) -> None:
    org = await create_organization(session)
    _, key = await create_source(session)
    person = snils()
    record = service_record(
        org.ogrn,
        recipient={
            "snils": person,
            "birth_date": "1980-05-01",
            "portal_account_confirmed": True,
            "email": "leak.check@example.ru",
            "phone": "+79005553311",
        },
    )
    bad = service_record(org.ogrn, recipient={"snils": "123-456-789 00", "birth_date": "x"})
    await session.commit()
    _boom_app(app)
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://testserver") as client:
        headers = {"Authorization": f"Bearer {key}"}
        accepted = await client.post("/api/v1/service-records", json=[record, bad], headers=headers)
        assert accepted.status_code in (200, 207), accepted.text
        tokens = await invite(session, settings, org=org)
        token = tokens[0]
        await session.commit()
        page = await client.get(f"/s/{token}?utm=secret-query")
        assert page.status_code == 200
        answered = await client.post(f"/s/{token}", data=form(comment=COMMENT))
        assert answered.status_code == 200, answered.text
        boom = await client.get(f"/s/{token}/boom?email=leak.check@example.ru")
        assert boom.status_code == 500
        assert (await client.get("/api/v1/organizations/not-an-ogrn")).status_code == 401
        assert (await client.get(f"/nowhere/{token}")).status_code == 404
    text = captured.getvalue()
    lines = _lines(captured)
    assert lines, "nothing was logged"
    for line in lines:
        assert {"time", "level", "logger", "message"} <= set(line)
    for secret in (*tokens, person, person.replace("-", "").replace(" ", ""), COMMENT, key):
        assert secret not in text
    assert "secret-query" not in text
    assert "utm=" not in text
    assert not SNILS_RE.search(text)
    assert not EMAIL_RE.search(text)
    assert not PHONE_RE.search(text)
    access = [x for x in lines if x["logger"] == "otklik.access"]
    routes = {x["route"] for x in access}
    assert {"/s/{token}", "/api/v1/service-records", "/s/{token}/boom"} <= routes
    assert all("request_id" in x and "status" in x for x in access)
    # the 500: logged once, with its request id, the route template and the traceback
    errors = [x for x in lines if x["level"] == "error"]
    assert len(errors) == 1, errors
    assert errors[0]["route"] == "/s/{token}/boom"
    assert errors[0]["request_id"] == boom.headers["x-request-id"]
    assert "RuntimeError" in errors[0]["exception"]
    assert "for link [token]" in errors[0]["exception"]  # the token in the message: redacted


def test_redaction_of_each_kind() -> None:
    text = logs.redact(
        "GET https://x.ru/s/AbCdEf0123456789xyz/finish for ivan.petrov@mail.ru, "
        "SNILS 112-233-445 95 or 11223344595, phone +7 (900) 123-45-67 or 8 900 123-45-67, "
        "Authorization: Bearer abcdef123456, password=hunter2hunter"
    )
    assert text == (
        "GET https://x.ru/s/{token}/finish for [email], "
        "SNILS [snils] or [snils], phone [phone] or [phone], "
        "Authorization: Bearer [redacted], password=[redacted]"
    )


def test_repeat_errors_are_rate_limited(captured: io.StringIO) -> None:
    log = logging.getLogger("otklik.test")
    for _ in range(100):
        try:
            raise ConnectionRefusedError("database down")
        except ConnectionRefusedError:
            log.warning("cycle failed", exc_info=True)
    log.warning("something else")
    lines = _lines(captured)
    assert len([x for x in lines if x["message"] == "cycle failed"]) == 3
    assert [x["message"] for x in lines][-1] == "something else"


async def test_worker_with_the_database_down_logs_a_few_lines(
    settings: Settings, captured: io.StringIO
) -> None:
    engine = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/x")
    for _ in range(20):  # twenty cycles, as in twenty seconds
        await run_forever(session_factory(engine), settings, once=True)
    await engine.dispose()
    lines = _lines(captured)
    assert 1 <= len(lines) <= 6, [x["message"] for x in lines]
    assert all(x["level"] == "warning" for x in lines)


async def test_healthz_and_readyz_with_the_database_down(settings: Settings) -> None:
    app = create_app(settings)
    engine = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/x")
    app.state.sessionmaker = session_factory(engine)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
        assert (await client.get("/healthz")).status_code == 200
        ready = await client.get("/readyz")
        metrics = await client.get("/metrics")
    await engine.dispose()
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"]["ok"] is False
    assert metrics.status_code == 200
    assert "otklik_database_up 0.0" in metrics.text


async def test_readyz_ready_on_the_test_database(client: AsyncClient) -> None:
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["checks"]["migrations"]["current"] == body["checks"]["migrations"]["head"]
    assert body["checks"]["channels"]["enabled"] == ["log"]
    assert set(body["checks"]["queues"]) >= {"planning", "delivery", "analysis", "exchange"}


@pytest.fixture
def unmigrated_url(database_url: str) -> Iterator[str]:
    url = make_url(to_libpq_url(database_url))
    name = f"{url.database}_unmigrated"
    admin = url.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield to_async_url(url.set(database=name).render_as_string(hide_password=False))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_readyz_not_ready_before_migrations(settings: Settings, unmigrated_url: str) -> None:
    app = create_app(settings)
    engine = create_engine(unmigrated_url)
    app.state.sessionmaker = session_factory(engine)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
        ready = await client.get("/readyz")
    await engine.dispose()
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert checks["database"] == {"ok": True}
    assert checks["migrations"]["ok"] is False
    assert checks["migrations"]["current"] is None
    assert checks["migrations"]["head"]


async def test_readyz_not_ready_without_a_delivery_channel(
    tmp_path: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    prod = Settings(env="production", data_dir=tmp_path, secret_key="s" * 40, pii_key="p" * 40)
    app = create_app(prod)
    app.state.sessionmaker = sessionmaker
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["channels"] == {"ok": False, "enabled": []}


async def test_metrics_counts_by_route_template_and_is_protected(
    session: AsyncSession, settings: Settings, app: FastAPI
) -> None:
    org = await create_organization(session)
    _, key = await create_source(session)
    await session.commit()
    local = ASGITransport(app=app, client=("127.0.0.1", 5000))
    async with AsyncClient(transport=local, base_url="http://t") as client:
        await client.get("/s/" + "Z" * 40)
        await client.post(
            "/api/v1/service-records",
            json=[service_record(org.ogrn)],
            headers={"Authorization": f"Bearer {key}"},
        )
        text = (await client.get("/metrics")).text
    assert 'otklik_http_requests_total{method="GET",route="/s/{token}",status="404"}' in text
    assert "Z" * 40 not in text
    assert re.search(r'otklik_intake_records_total\{outcome="accepted"\} [1-9]', text)
    for name in (
        "otklik_http_request_duration_seconds_bucket",
        'otklik_queue_depth{queue="delivery"}',
        'otklik_queue_oldest_age_seconds{queue="planning"}',
        "otklik_answers_total",
        "otklik_database_up 1.0",
    ):
        assert name in text, name
    remote = ASGITransport(app=app, client=("203.0.113.9", 5000))
    async with AsyncClient(transport=remote, base_url="http://t") as client:
        assert (await client.get("/metrics")).status_code == 403
    app.state.settings = settings.model_copy(update={"metrics_token": "m" * 40})
    async with AsyncClient(transport=remote, base_url="http://t") as client:
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer " + "x" * 40})
        right = await client.get("/metrics", headers={"Authorization": "Bearer " + "m" * 40})
    assert wrong.status_code == 403
    assert right.status_code == 200
