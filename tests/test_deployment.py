"""Behind a reverse proxy (issue 21, item 7): forwarded headers believed only from the listed
proxies, so rate limits key on the real client and a client cannot pick its own bucket; the API
documentation pages are off in production unless switched on."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otklik.app import create_app
from otklik.config import Settings, SettingsError

LINK = "/s/" + "A" * 32  # an unknown link: 404, but it spends the address's bucket first


def _app(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], **changes: object
) -> FastAPI:
    app = create_app(settings.model_copy(update={"survey_ip_per_minute": 2, **changes}))
    app.state.sessionmaker = sessionmaker

    async def whoami(request: Request) -> dict[str, str]:
        return {
            "client": request.client.host if request.client else "",
            "scheme": request.url.scheme,
        }

    app.add_api_route("/whoami", whoami, methods=["GET"])
    return app


async def _statuses(app: FastAPI, peer: str, forwarded_for: list[str]) -> list[int]:
    transport = ASGITransport(app=app, client=(peer, 40000))
    async with AsyncClient(transport=transport, base_url="http://t") as client:
        return [
            (await client.get(LINK, headers={"X-Forwarded-For": f})).status_code
            for f in forwarded_for
        ]


async def test_behind_a_trusted_proxy_each_citizen_has_a_bucket(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    app = _app(settings, sessionmaker, trusted_proxies="10.0.0.0/8, 127.0.0.1")
    # three citizens behind the proxy at 10.0.0.2, two requests each: nobody is limited
    clients = ["198.51.100.1", "198.51.100.2", "198.51.100.3"] * 2
    assert await _statuses(app, "10.0.0.2", clients) == [404] * 6
    # one of them, a third time: limited (the bucket is the citizen's, not the proxy's)
    assert await _statuses(app, "10.0.0.2", ["198.51.100.1"]) == [429]
    # a forged left part does not help: the right-most untrusted address is the client
    assert await _statuses(app, "10.0.0.2", ["1.2.3.4, 198.51.100.2"]) == [429]
    # a chain of trusted proxies is walked through
    assert await _statuses(app, "10.0.0.2", ["198.51.100.7, 10.1.1.1"]) == [404]


async def test_forwarded_headers_from_anyone_else_are_ignored(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    app = _app(settings, sessionmaker, trusted_proxies="10.0.0.0/8")
    forged = ["198.51.100.1", "198.51.100.2", "198.51.100.3"]
    # a client at 203.0.113.5 sending its own X-Forwarded-For shares one bucket: the third fails
    assert await _statuses(app, "203.0.113.5", forged) == [404, 404, 429]


async def test_no_trusted_proxy_by_default(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    app = _app(settings, sessionmaker)
    assert settings.trusted_proxies == ""
    assert await _statuses(app, "127.0.0.1", ["198.51.100.1", "198.51.100.2", "1.1.1.1"]) == [
        404,
        404,
        429,
    ]


async def test_client_and_scheme_seen_by_the_application(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    app = _app(settings, sessionmaker, trusted_proxies="127.0.0.1")
    headers = {"X-Forwarded-For": "198.51.100.9", "X-Forwarded-Proto": "https"}
    for peer, want in (
        ("127.0.0.1", {"client": "198.51.100.9", "scheme": "https"}),
        ("192.0.2.1", {"client": "192.0.2.1", "scheme": "http"}),
    ):
        transport = ASGITransport(app=app, client=(peer, 40000))
        async with AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/whoami", headers=headers)).json() == want
    # the /metrics allow-list sees the real client too: a proxied outsider is refused
    transport = ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/metrics", headers=headers)).status_code == 403
        assert (await client.get("/metrics")).status_code == 200


def test_a_bad_proxy_list_is_refused(tmp_path: Path) -> None:
    settings = Settings(env="test", data_dir=tmp_path, trusted_proxies="10.0.0.0/8, nonsense")
    with pytest.raises(SettingsError, match="OTKLIK_TRUSTED_PROXIES"):
        settings.check_networks()


@pytest.mark.parametrize("public_docs", [False, True])
async def test_api_docs_in_production_only_when_enabled(
    tmp_path: Path, sessionmaker: async_sessionmaker[AsyncSession], public_docs: bool
) -> None:
    prod = Settings(
        env="production",
        data_dir=tmp_path,
        secret_key="s" * 40,
        pii_key="p" * 40,
        public_docs=public_docs,
    )
    app = create_app(prod)
    app.state.sessionmaker = sessionmaker
    async with AsyncClient(transport=ASGITransport(app=app), base_url="https://t") as client:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert (await client.get(path)).status_code == (200 if public_docs else 404), path
        page = await client.get("/login")
    # production: HSTS and secure cookies
    assert page.headers["strict-transport-security"].startswith("max-age=")
    assert "secure" in page.headers["set-cookie"].lower()


ROOT = Path(__file__).resolve().parents[1]


async def test_alert_rules_name_only_metrics_we_expose(client: AsyncClient) -> None:
    """Every otklik_* series in deploy/alerts.yml is in /metrics (a renamed metric would leave
    an alert that never fires)."""
    import re

    import yaml

    rules = yaml.safe_load((ROOT / "deploy" / "alerts.yml").read_text("utf-8"))
    exprs = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    assert len(exprs) >= 8
    exposed = (await client.get("/metrics")).text
    names = {n for e in exprs for n in re.findall(r"\botklik_[a-z_]+", e)}
    declared = set(re.findall(r"^# TYPE (\S+) ", exposed, re.M))
    missing = {n for n in names if re.sub(r"_bucket$", "", n) not in declared}
    assert not missing, missing


def test_container_and_units_refer_to_what_exists() -> None:
    """The Containerfile copies files that exist and runs commands the CLI has; the systemd
    units start commands the CLI has (the image itself is not built in tests: no image pulls)."""
    import re

    from typer.testing import CliRunner

    from otklik.cli import app as cli

    text = (ROOT / "Containerfile").read_text("utf-8")
    for line in text.splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            for item in line.split()[1:-1]:
                assert (ROOT / item).exists(), item
    commands = re.findall(r"otklik ([a-z]+(?: [a-z-]+)?)", text)
    for unit in ("otklik.service", "otklik-worker.service"):
        commands += re.findall(
            r"bin/otklik ([a-z]+(?: [a-z-]+)?)", (ROOT / "deploy" / unit).read_text("utf-8")
        )
    assert {"serve", "worker", "db upgrade"} <= {c.split(" --")[0] for c in commands}
    for command in {c.split(" --")[0] for c in commands}:
        result = CliRunner().invoke(cli, [*command.split(), "--help"])
        assert result.exit_code == 0, (command, result.output)
