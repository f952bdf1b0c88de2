"""``otklik serve`` in several processes, and the headers every response carries."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
from httpx import AsyncClient

UNKNOWN_LINK = "/s/" + "A" * 32


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def test_respondent_pages_set_no_cookie_and_forms_set_it_once(client: AsyncClient) -> None:
    page = await client.get(UNKNOWN_LINK)
    assert page.status_code == 404
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "set-cookie" not in page.headers  # no CSRF form on the page: no cookie
    first = await client.get("/login")
    assert "otklik_csrf=" in first.headers["set-cookie"]
    assert "httponly" in first.headers["set-cookie"].lower()
    again = await client.get("/login")  # the client sends the cookie back: not set again
    assert "set-cookie" not in again.headers
    assert again.headers["x-frame-options"] == "DENY"


def test_serve_runs_several_worker_processes(database_url: str, tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "OTKLIK_ENV": "test",
        "OTKLIK_DATABASE_URL": database_url,
        "OTKLIK_DATA_DIR": str(tmp_path),
    }
    otklik = str(Path(sys.executable).with_name("otklik"))
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own command line
            [otklik, "serve", "--port", str(port), "--workers", "2"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240  # two cold interpreters on a loaded 2-core machine
        while True:
            assert proc.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        children = psutil.Process(proc.pid).children()
        workers = [p for p in children if "spawn_main" in " ".join(p.cmdline())]
        assert len(workers) == 2
        page = httpx.get(base + UNKNOWN_LINK, timeout=10)
        assert page.status_code == 404
        assert "Ссылка не найдена" in page.text
        assert page.headers["cache-control"] == "no-store"
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)


def test_demo_worker_is_restarted_when_it_dies(database_url: str, tmp_path: Path) -> None:
    """The demo's web process watches its worker child: killed, it is said aloud and restarted."""
    port = _free_port()
    env = {
        **os.environ,
        "OTKLIK_ENV": "test",
        "OTKLIK_DATABASE_URL": database_url,
        "OTKLIK_DATA_DIR": str(tmp_path),
    }
    script = (
        "from otklik.cli import _serve; from otklik.config import get_settings; "
        f"_serve(get_settings(), {port}, '127.0.0.1', with_worker=True)"
    )
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own command line
            [sys.executable, "-c", script],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def worker_children() -> list[psutil.Process]:
        found = []
        for child in psutil.Process(proc.pid).children():
            try:
                if child.status() != psutil.STATUS_ZOMBIE and child.cmdline()[-1:] == ["worker"]:
                    found.append(child)
            except psutil.Error:  # gone between the listing and the look
                continue
        return found

    def wait_for(condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + 120  # cold interpreters on a loaded 2-core machine
        while not condition():
            assert proc.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, f"{what}: {log.read_text(errors='replace')}"
            time.sleep(0.3)

    try:
        wait_for(lambda: len(worker_children()) == 1, "the worker child starts")
        first = worker_children()[0]
        first.kill()
        wait_for(
            lambda: [p.pid for p in worker_children()] not in ([], [first.pid]),
            "a new worker child",
        )
        assert len(worker_children()) == 1
        wait_for(lambda: "Фоновый обработчик остановился" in log.read_text(), "the message")
        assert "код -9" in log.read_text()
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)
