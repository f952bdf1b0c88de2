"""Stopping the demo stops its embedded PostgreSQL: Ctrl-C, SIGTERM to the group, SIGKILL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

OTKLIK = str(Path(sys.executable).with_name("otklik"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _postmaster(pgdata: Path) -> int | None:
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if pid > 0 and _running(pid) else None


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo-data")  # one initdb for the three ways


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm-group", "sigkill-parent"])
def test_stopping_the_demo_stops_its_postgres(data_dir: Path, how: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTKLIK_")}
    env |= {"OTKLIK_ENV": "demo", "OTKLIK_DATA_DIR": str(data_dir)}
    log = data_dir / f"demo-{how}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own command line
            [OTKLIK, "demo", "--port", str(_free_port()), "--size", "20"],
            cwd=data_dir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 300
        pg = None
        while pg is None or "Заполнение" not in log.read_text(errors="replace"):
            assert proc.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.5)
            pg = _postmaster(data_dir / "pgdata")
        if how == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C
        elif how == "sigterm-group":
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        gone_by = time.monotonic() + 10
        while _running(pg) and time.monotonic() < gone_by:
            time.sleep(0.2)
        assert not _running(pg), f"PostgreSQL {pg} still runs 10 s after {how}"
        assert "Traceback" not in log.read_text(errors="replace")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
