"""Watchdog of the embedded PostgreSQL: stops it when every process using it is gone.

``pgserver`` stops its server at interpreter exit of the last process using it, which a
SIGTERM (no ``atexit``) or a SIGKILL skips. ``db.start_embedded`` therefore starts this module
as a small detached process (its own session, so a signal to the demo's process group does not
reach it): it polls pgserver's list of processes using ``pgdata`` and, when none is alive any
more, stops the server (``pg_ctl stop -m fast``) and exits. It also exits when the server has
been stopped by someone else. Run as ``python -m otklik.pgwatch PGDATA``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

POLL_SECONDS = 0.5


def _alive(pid: int) -> bool:
    if pid <= 0:  # never signal a process group
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (killed, not yet reaped) is gone for our purpose
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def _users(pgdata: Path) -> list[int]:
    try:
        pids: list[int] = json.loads((pgdata / ".handle_pids.json").read_text())
    except (OSError, ValueError):
        return []
    return [p for p in pids if _alive(p)]


def _server_running(pgdata: Path) -> bool:
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return False
    return _alive(pid)  # negative: a single-user backend (initdb), not a server


def _stop(pgdata: Path) -> None:
    from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

    user = "pgserver" if os.geteuid() == 0 else None  # as pgserver runs it under root
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user, timeout=20)
    except Exception:
        return
    (pgdata / ".handle_pids.json").write_text("[]")


def watch(pgdata: Path) -> None:
    while _server_running(pgdata):
        if not _users(pgdata):
            _stop(pgdata)
            return
        time.sleep(POLL_SECONDS)


if __name__ == "__main__":
    watch(Path(sys.argv[1]))
