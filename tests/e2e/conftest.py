"""Fixtures for browser tests: a demo server in a subprocess and headless Chromium.

The demo server runs ``otklik demo`` against an embedded PostgreSQL created in a pytest
temporary directory, so these tests never touch the developer's ``.otklik`` data.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEMO_PASSWORD = "otklik-demo-2026"
DEMO_SIZE = int(os.environ.get("OTKLIK_E2E_DEMO_SIZE", "200"))  # organizations in the demo
# a loaded machine may need longer: OTKLIK_E2E_STARTUP_TIMEOUT (seconds)
STARTUP_TIMEOUT = float(os.environ.get("OTKLIK_E2E_STARTUP_TIMEOUT", "90"))
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - local http
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT the whole process group (uv and the server) so the embedded
    PostgreSQL is stopped by the server's exit handlers; kill if that hangs."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGINT)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start ``otklik demo`` on a free port; yield its base URL."""
    data_dir = tmp_path_factory.mktemp("otklik-e2e")
    log_path = data_dir / "server.log"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "OTKLIK_DATABASE_URL"}
    env["OTKLIK_DATA_DIR"] = str(data_dir)
    env["OTKLIK_ENV"] = "demo"
    env["PYTHONUNBUFFERED"] = "1"
    env["NO_COLOR"] = "1"
    # the otklik script of this very environment: uv itself may not be on PATH
    otklik = str(Path(sys.executable).with_name("otklik"))
    command = [otklik, "demo", "--port", str(port), "--size", str(DEMO_SIZE)]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(  # noqa: S603 - fixed command
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _healthy(base_url + "/healthz"):
            if proc.poll() is not None:
                pytest.fail(
                    f"otklik demo exited with code {proc.returncode} before it was ready.\n"
                    f"Output:\n{log_path.read_text(errors='replace')}",
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"otklik demo did not answer GET /healthz with 200 within "
                    f"{STARTUP_TIMEOUT:.0f} s.\nOutput:\n{log_path.read_text(errors='replace')}",
                    pytrace=False,
                )
            time.sleep(0.5)
        yield base_url
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is required for the browser tests but {CHROMIUM} does not exist. "
            "Install it with: apt-get install chromium",
            pytrace=False,
        )
    browser = playwright_instance.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


ContextFactory = Callable[..., BrowserContext]


@pytest.fixture
def new_context(browser: Browser, demo_server: str) -> Iterator[ContextFactory]:
    """Factory of fresh browser contexts (own cookies) pointed at the demo server."""
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        options.setdefault("base_url", demo_server)
        options.setdefault("locale", "ru-RU")
        context = browser.new_context(**options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def login(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the login form (no assertions about the outcome)."""
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.get_by_role("button", name="Войти", exact=True).click()
    page.wait_for_load_state()


@pytest.fixture(scope="session")
def auth_states(browser: Browser, demo_server: str) -> Callable[[str], dict[str, Any]]:
    """Cache of signed-in storage states, one form login per account for the whole run."""
    cache: dict[str, dict[str, Any]] = {}

    def get(email: str) -> dict[str, Any]:
        if email not in cache:
            context = browser.new_context(base_url=demo_server)
            try:
                page = context.new_page()
                login(page, email)
                if not page.url.endswith("/cabinet"):
                    pytest.fail(f"login as {email} did not reach /cabinet (at {page.url})")
                cache[email] = context.storage_state()
            finally:
                context.close()
        return cache[email]

    return get


@pytest.fixture
def page_as(
    new_context: ContextFactory, auth_states: Callable[[str], dict[str, Any]]
) -> Callable[..., Page]:
    """``page_as(email, **context_options)`` → a page in a context already signed in."""

    def make(email: str, **options: Any) -> Page:
        context = new_context(storage_state=auth_states(email), **options)
        return context.new_page()

    return make
