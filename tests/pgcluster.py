"""A private PostgreSQL primary and its streaming replica, started and stopped by a test.

``PgCluster(folder).start()`` runs ``initdb`` for a primary on a free port (trust
authentication on 127.0.0.1, ``wal_level = replica``), then ``pg_basebackup -R`` for a replica on
another free port, which starts streaming from the primary at once. ``stop()`` stops both
(``pg_ctl stop -m fast``). The binaries are ``OTKLIK_PG_BIN`` if set, else the newest
``/usr/lib/postgresql/<major>/bin``, else those bundled in the ``pgserver`` package (the ones
``otklik.db.start_embedded`` runs, present on any machine with the project installed).

Run as root, the servers run as the ``postgres`` system user (or ``pgserver``, created like
pgserver does): PostgreSQL refuses to run as root.

Durability is traded for speed (``fsync = off``): these servers live as long as one test.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "wal_level": "replica",
    "max_wal_senders": "5",
    "hot_standby": "on",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "256MB",
    "max_wal_size": "4GB",
    "wal_keep_size": "1GB",
    # long reads on the replica are not cancelled by the primary's vacuum
    "hot_standby_feedback": "on",
    "log_min_messages": "warning",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def pg_bin() -> Path:
    """The folder of initdb, pg_ctl, pg_basebackup and postgres of one PostgreSQL version."""
    given = os.environ.get("OTKLIK_PG_BIN")
    if given:
        return Path(given)
    system = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True
    )
    for folder in system:
        if (folder / "initdb").exists() and (folder / "pg_basebackup").exists():
            return folder
    from pgserver._commands import POSTGRES_BIN_PATH

    bundled = Path(POSTGRES_BIN_PATH)
    if os.geteuid() == 0:  # the server's user must reach the binaries and their libraries
        from pgserver.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
        )

        ensure_prefix_permissions(bundled)
        ensure_folder_permissions(bundled, 0o055)
        ensure_folder_permissions(bundled.parent / "lib", 0o044)
    return bundled


def _system_user() -> str | None:
    """Who runs the servers: None (this user) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "pgserver"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(["useradd", "-s", "/bin/bash", "pgserver"], check=True)  # noqa: S607
    return "pgserver"


@dataclass
class Server:
    data: Path
    port: int
    log: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"


@dataclass
class PgCluster:
    folder: Path
    bin: Path = field(default_factory=pg_bin)
    user: str | None = field(default_factory=_system_user)
    primary: Server | None = None
    replica: Server | None = None

    def _run(self, *args: str | Path) -> None:
        done = subprocess.run(  # noqa: S603 - the PostgreSQL binaries with our arguments
            [str(a) for a in args],
            user=self.user,
            capture_output=True,
            text=True,
            check=False,
            cwd="/",  # a folder the servers' user may enter
        )
        if done.returncode != 0:
            raise RuntimeError(f"{Path(str(args[0])).name} failed: {done.stderr[-2000:]}")

    def _own(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(path, entry.pw_uid, entry.pw_gid)
            path.chmod(0o700)

    def _start(self, server: Server) -> None:
        self._run(
            self.bin / "pg_ctl",
            "start",
            "-w",
            "-t",
            "120",
            "-D",
            server.data,
            "-l",
            server.log,
            "-o",
            f"-p {server.port} -k {server.data}",
        )

    def start(self) -> PgCluster:
        """initdb and start the primary, then base-back-up and start the replica."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.user is not None:  # the servers' user must reach their folders (as pgserver does)
            for folder in [self.folder, *self.folder.parents]:
                folder.chmod(folder.stat().st_mode | 0o011)
        self._own(self.folder / "logs")
        primary = Server(self.folder / "primary", free_port(), self.folder / "logs" / "primary.log")
        self._own(primary.data)
        self._run(
            self.bin / "initdb", "-D", primary.data, "-U", "postgres", "--auth=trust", "-E", "UTF8"
        )
        conf = "\n".join(f"{k} = {v}" for k, v in SETTINGS.items())
        with (primary.data / "postgresql.conf").open("a") as f:
            f.write("\n" + conf + "\n")
        with (primary.data / "pg_hba.conf").open("a") as f:
            f.write("host replication postgres 127.0.0.1/32 trust\n")
        self._start(primary)
        self.primary = primary
        replica = Server(self.folder / "replica", free_port(), self.folder / "logs" / "replica.log")
        self._own(replica.data)
        self._run(
            self.bin / "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            "postgres",
            "-D",
            replica.data,
            "-R",  # standby.signal and primary_conninfo: a streaming replica
            "-X",
            "stream",
            "-c",
            "fast",
        )
        self._start(replica)
        self.replica = replica
        self.wait_streaming()
        return self

    def wait_streaming(self, timeout: float = 60) -> None:
        assert self.primary is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with psycopg.connect(self.primary.url(), autocommit=True) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
                ).fetchone()
            if row and row[0] >= 1:
                return
            time.sleep(0.2)
        raise RuntimeError("the replica did not start streaming")

    def create_database(self, name: str) -> tuple[str, str]:
        """A new database on the primary; its URLs on the primary and on the replica."""
        assert self.primary is not None
        assert self.replica is not None
        with psycopg.connect(self.primary.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.wait_replayed()
        return self.primary.url(name), self.replica.url(name)

    def wait_replayed(self, timeout: float = 300) -> None:
        """Wait until the replica has replayed everything the primary has written so far."""
        assert self.primary is not None
        assert self.replica is not None
        with psycopg.connect(self.primary.url(), autocommit=True) as conn:
            row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
        assert row is not None
        target = row[0]
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.replica.url(), autocommit=True) as conn:
            while True:
                got = conn.execute(
                    "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), %s::pg_lsn) >= 0", (target,)
                ).fetchone()
                if got and got[0]:
                    return
                if time.monotonic() > deadline:
                    raise RuntimeError("the replica did not catch up")
                time.sleep(0.1)

    def _stop(self, server: Server | None) -> None:
        if server is not None and (server.data / "postmaster.pid").exists():
            try:
                self._run(self.bin / "pg_ctl", "stop", "-m", "fast", "-D", server.data)
            except RuntimeError:
                self._run(self.bin / "pg_ctl", "stop", "-m", "immediate", "-D", server.data)

    def stop_replica(self) -> None:
        """The replica alone stops (gone from under its readers); the primary goes on."""
        self._stop(self.replica)

    def set_replay(self, *, paused: bool) -> None:
        """Pause the replica's replay (it falls behind the primary) or resume it."""
        assert self.replica is not None
        with psycopg.connect(self.replica.url(), autocommit=True) as conn:
            conn.execute(
                "SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()"
            )

    def stop(self) -> None:
        for server in (self.replica, self.primary):
            self._stop(server)
        self.primary = self.replica = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
