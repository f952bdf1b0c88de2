"""Helpers for ``bench_outreach.py``: a raw asyncio HTTP sink and a fast data generator.

The sink (``python benchmarks/outreach_support.py sink PORT [SMTP_PORT]``) answers ``POST
/notify`` with 200 (or 503 while ``POST /mode/down`` is in force) and ``POST /batch`` by the
portal's batch contract (docs/outreach.md: a result per message, "duplicate" for a key seen
before), counts every message per idempotency key and keeps the order of arrival. With
``SMTP_PORT`` it is also an SMTP server (aiosmtpd, PIPELINING offered) counting messages by
their ``Message-ID``. ``GET /stats`` returns the counts, ``GET /order`` the keys in order of
arrival, ``POST /reset`` forgets everything.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: tests too

from tests.receivers import Pipelining, batch, serve

from otklik.kit.pii import PiiVault

PII_KEY = "bench-pii-key-" + "x" * 30
VAULT = PiiVault(PII_KEY)


# --- the sink -------------------------------------------------------------------------------


@dataclass
class SinkState:
    mode: str = "ok"
    total: int = 0
    keys: Counter[str] = field(default_factory=Counter)
    order: list[str] = field(default_factory=list)
    first: float = 0.0  # wall-clock time of the first and the last message since a reset
    last: float = 0.0

    def see(self, key: str) -> str:
        """Count a message: "duplicate" if its key came before, else "accepted"."""
        seen = key in self.keys
        self.last = time.time()
        self.first = self.first or self.last
        self.total += 1
        self.keys[key] += 1
        self.order.append(key)
        return "duplicate" if seen else "accepted"


MESSAGE_ID = re.compile(rb"(?im)^Message-ID: *<([^@>]+)@")


class MailSink(Pipelining):
    """Each message is counted by its Message-ID key."""

    def __init__(self, st: SinkState) -> None:
        self.st = st

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        found = MESSAGE_ID.search(envelope.original_content or b"")
        self.st.see(found.group(1).decode() if found else "?")
        return "250 OK"


def _answer(st: SinkState, method: str, path: str, body: bytes) -> tuple[int, bytes]:
    if path in ("/batch", "/notify") and st.mode == "down":
        return 503, b"{}"
    if path == "/batch":
        return 200, batch(body, lambda m: st.see(m["idempotency_key"]))
    if path == "/notify":
        st.see(orjson.loads(body)["idempotency_key"])
    elif path == "/stats":
        dup_keys = sum(1 for n in st.keys.values() if n > 1)
        stats = {"total": st.total, "unique": len(st.keys), "dup_keys": dup_keys}
        return 200, orjson.dumps({**stats, "first": st.first, "last": st.last})
    elif path == "/order":
        return 200, orjson.dumps(st.order)
    elif path.startswith("/mode/"):
        st.mode = path.removeprefix("/mode/")
    elif path == "/reset" and method == "POST":
        st.total = 0
        st.first = st.last = 0.0
        st.keys.clear()
        st.order.clear()
    return 200, b"{}"


async def run_sink(port: int, smtp_port: int = 0) -> None:
    st = SinkState()
    await serve(lambda m, p, b: _answer(st, m, p, b), port, MailSink(st), smtp_port)


# --- data -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Org:
    id: int
    services: Sequence[str]


def organizations(conn: psycopg.Connection[Any]) -> list[Org]:
    services: dict[str, list[str]] = {}
    for code, type_code in conn.execute(
        "SELECT service_code, type_code FROM service_organization_types ORDER BY 1, 2"
    ):
        services.setdefault(type_code, []).append(code)
    rows = conn.execute("SELECT id, type_code FROM organizations ORDER BY id").fetchall()
    return [Org(i, services[t]) for i, t in rows if services.get(t)]


class RecordMaker:
    """Adults' service records with contacts and pending outreach tasks, written with COPY.

    70 % have a confirmed portal account; 10 % are a person seen earlier (fatigue applies).
    """

    def __init__(self, orgs: Sequence[Org], seed: int = 1) -> None:
        self.orgs = orgs
        self.rng = random.Random(seed)
        self.people = 0
        self.serial = 0

    def person(self) -> int:
        if self.people and self.rng.random() < 0.1:
            return self.rng.randrange(self.people)
        self.people += 1
        return self.people - 1

    def write(
        self, conn: psycopg.Connection[Any], n: int, sealed: bool = True, hold: bool = False
    ) -> None:
        """Insert ``n`` records as intake would have accepted them (received now)."""
        base = conn.execute("SELECT coalesce(max(id), 0) FROM service_records").fetchone()
        first = int(base[0]) + 1 if base else 1
        now = datetime.now(UTC)
        expires = now + timedelta(days=45)
        dummy = b"\x00" * 60
        with conn.cursor() as cur:
            records, contacts = [], []
            for i in range(n):
                rid = first + i
                p = self.person()
                key = VAULT.person_key(f"{p:011d}")
                org = self.orgs[self.rng.randrange(len(self.orgs))]
                service = org.services[self.rng.randrange(len(org.services))]
                served = now - timedelta(minutes=self.rng.randint(10, 600))
                records.append(
                    (rid, 1, f"B-{self.serial + i}", os.urandom(32), org.id, service, served, key)
                )
                contact = {"snils": f"{p:011d}", "email": f"p{p}@example.ru"}
                blob = VAULT.seal(contact, key) if sealed else dummy
                portal = self.rng.random() < 0.7
                contacts.append((rid, key, portal, blob, expires))
            self.serial += n
            # outreach's trigger on service_records queues their tasks (one per COPY)
            # their key rows first (intake writes them in the same statement as the records;
            # the queue's trigger and the contacts' foreign key name them)
            with cur.copy(
                "COPY service_record_keys (id, source_id, record_id, received_at) FROM STDIN"
            ) as copy:
                for r in records:
                    copy.write_row((r[0], r[1], r[2], now))
            with cur.copy(
                "COPY service_records (id, source_id, record_id, content_hash, organization_id,"
                " service_code, served_at, person_key, received_at, age_band, is_minor, channel)"
                " FROM STDIN"
            ) as copy:
                for r in records:
                    copy.write_row((*r, now, "35-44", False, "api"))
            with cur.copy(
                "COPY contacts (service_record_id, position, person_key, portal_account_confirmed,"
                " has_email, has_phone, sealed, expires_at) FROM STDIN"
            ) as copy:
                for rid, key, portal, blob, exp in contacts:
                    copy.write_row((rid, 0, key, portal, True, False, blob, exp))
            cur.execute(
                "SELECT setval(pg_get_serial_sequence('service_record_keys', 'id'),"
                " (SELECT max(id) FROM service_records))"
            )
            if hold:  # not due before tomorrow: running workers leave them alone
                cur.execute(
                    "UPDATE outreach_tasks SET run_after = now() + interval '1 day'"
                    " WHERE status = 'pending'"
                )
        conn.commit()


if __name__ == "__main__" and sys.argv[1:2] == ["sink"]:
    asyncio.run(run_sink(int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 0))
