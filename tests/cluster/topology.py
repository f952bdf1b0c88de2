"""The processes of the topology test, started and stopped by it.

A primary and a streaming replica (``tests.pgcluster``), NATS with JetStream (``nats-server``
started here on a free port, or the one ``OTKLIK_CLUSTER_NATS_URL`` names), the sinks, two web
processes sharing one port (``tests.cluster.web``), two ``otklik worker`` processes and two
``otklik intake consume`` processes of one durable consumer. Every child's output goes to a
file under the test's folder; ``stop`` ends each child this test started, by its own pid.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.pgcluster import PgCluster, free_port

ROOT = Path(__file__).resolve().parents[2]
OTKLIK = [sys.executable, "-c", "from otklik.cli import main; main()"]


def _comment_pair() -> tuple[str, str]:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from otklik.kit.pii import encode_key

    key = X25519PrivateKey.generate()
    return encode_key(key), encode_key(key.public_key())


@dataclass
class Topology:
    folder: Path
    port: int = field(default_factory=free_port)
    sink_port: int = field(default_factory=free_port)
    smtp_port: int = field(default_factory=free_port)
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    pg: PgCluster | None = None
    primary: str = ""
    replica: str = ""
    nats_url: str = ""
    env: dict[str, str] = field(default_factory=dict)
    comment_key: str = ""
    comment_public_key: str = ""

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_databases(self) -> None:
        self.pg = PgCluster(self.folder / "pg").start()
        self.primary, self.replica = self.pg.create_database("otklik")
        self.comment_key, self.comment_public_key = _comment_pair()
        base = {k: v for k, v in os.environ.items() if not k.startswith("OTKLIK_")}
        self.env = {
            **base,
            "PYTHONPATH": str(ROOT),
            "OTKLIK_ENV": "production",
            "OTKLIK_SECRET_KEY": secrets.token_urlsafe(48),
            "OTKLIK_PII_KEY": secrets.token_urlsafe(48),
            "OTKLIK_DATABASE_URL": self.primary,
            "OTKLIK_DATABASE_REPLICA_URL": self.replica,
            "OTKLIK_DATA_DIR": str(self.folder / "data"),
            "OTKLIK_BASE_URL": self.base_url,
            "OTKLIK_SECURE_COOKIES": "false",
            "OTKLIK_QUIET_HOURS_START": "0",
            "OTKLIK_QUIET_HOURS_END": "0",  # no quiet hours: everything goes at once
            "OTKLIK_FATIGUE_ORGANIZATION_MAX": "1",
            "OTKLIK_FATIGUE_WEEK_MAX": "2",
            "OTKLIK_PORTAL_NOTIFY_URL": f"http://127.0.0.1:{self.sink_port}/notify",
            "OTKLIK_PORTAL_BATCH_URL": f"http://127.0.0.1:{self.sink_port}/batch",
            "OTKLIK_SMTP_HOST": "127.0.0.1",
            "OTKLIK_SMTP_PORT": str(self.smtp_port),
            "OTKLIK_SMTP_SECURITY": "none",
            "OTKLIK_SMTP_FROM": "otklik@cluster.example",
            "OTKLIK_SURVEY_IP_PER_MINUTE": "1000000000",  # every respondent is 127.0.0.1 here
            "OTKLIK_CHANNEL_RATE_PER_SECOND": "100000",
            "OTKLIK_DELIVERY_BATCH": "1000",
            "OTKLIK_LOG_LEVEL": "INFO",
        }

    def run(self, *args: str) -> str:
        """An ``otklik`` command to its end; its output."""
        done = subprocess.run(  # noqa: S603 - our own interpreter and CLI
            [*OTKLIK, *args], env=self.env, cwd=self.folder, capture_output=True, check=False
        )
        text = done.stdout.decode() + done.stderr.decode()
        assert done.returncode == 0, f"otklik {' '.join(args)}: {text[-3000:]}"
        return done.stdout.decode()

    def spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        log = (self.folder / "logs").joinpath(f"{name}.log")
        log.parent.mkdir(exist_ok=True)
        self.children[name] = subprocess.Popen(  # noqa: S603 - our own programs
            args,
            env=env or self.env,
            cwd=ROOT,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )

    def log(self, name: str) -> str:
        return (self.folder / "logs" / f"{name}.log").read_text(errors="replace")

    def start_nats(self) -> None:
        given = os.environ.get("OTKLIK_CLUSTER_NATS_URL")
        if given:
            self.nats_url = given
            return
        binary = shutil.which("nats-server")
        assert binary, (
            "nats-server is not installed: install it (apt-get install nats-server) "
            "or set OTKLIK_CLUSTER_NATS_URL to a NATS server with JetStream"
        )
        port = free_port()
        store = self.folder / "nats"
        self.spawn("nats", [binary, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(store)])
        self.nats_url = f"nats://127.0.0.1:{port}"

    def start_services(self) -> None:
        """The sinks, two web processes on one port and two workers."""
        self.spawn(
            "sinks",
            [sys.executable, "-m", "tests.cluster.sinks", str(self.sink_port), str(self.smtp_port)],
        )
        web_env = {**self.env, "OTKLIK_COMMENT_PUBLIC_KEY": self.comment_public_key}
        for n in (1, 2):
            self.spawn(
                f"web{n}", [sys.executable, "-m", "tests.cluster.web", str(self.port)], web_env
            )
        # the private key of the comments only in the workers
        worker_env = {
            **self.env,
            "OTKLIK_COMMENT_KEY": self.comment_key,
            "OTKLIK_COMMENT_PUBLIC_KEY": self.comment_public_key,
        }
        for n in (1, 2):
            self.spawn(f"worker{n}", [*OTKLIK, "worker"], worker_env)

    def web_pids(self) -> set[str]:
        return {str(self.children[f"web{n}"].pid) for n in (1, 2)}

    def wait_web(self, timeout: float = 300) -> None:
        """Until both web processes have answered (new connections land on either)."""
        seen: set[str] = set()
        deadline = time.monotonic() + timeout
        while seen != self.web_pids():
            self.check_alive()
            assert time.monotonic() < deadline, f"web processes not ready: {seen}"
            try:
                with httpx.Client(timeout=5) as client:
                    r = client.get(f"{self.base_url}/healthz")
                if r.status_code == 200:
                    seen.add(r.headers["x-cluster-pid"])
            except httpx.HTTPError:
                time.sleep(0.5)

    def check_alive(self) -> None:
        for name, child in self.children.items():
            if child.poll() is not None and not name.startswith("consumer"):
                raise AssertionError(f"{name} exited: {self.log(name)[-3000:]}")

    def stop(self) -> None:
        for name, child in reversed(list(self.children.items())):
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
                try:
                    child.wait(30)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
            del name
        if self.pg is not None:
            self.pg.stop()

    def remove_data(self) -> None:
        for name in ("pg", "nats", "data"):
            shutil.rmtree(self.folder / name, ignore_errors=True)
