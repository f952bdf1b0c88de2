"""Change requests: the list of a coordinator over 100 000 requests, and a transition.

Data: ``OTKLIK_BENCH_CR`` change requests (default 100 000) spread over the regions, services
and every state, with two timeline events each, generated with INSERT ... SELECT
generate_series. Measured in-process over ASGI (server time, no network), p95 of
``REQUESTS`` requests each, against two baselines measured in the same run: a plain
``SELECT ... WHERE id = :id`` of one request (through the same session machinery), and
``/healthz``.

1. ``GET /api/v1/change-requests`` as a coordinator (country scope): page 1, page 500,
   filtered by state, searched by text; goal p95 < 150 ms;
2. ``POST /api/v1/change-requests/{id}/transitions`` (submitted → expertise, by an analyst,
   each on a different request: lock, check, update, timeline, audit, notification outbox);
   goal p95 < 50 ms.

Database: embedded PostgreSQL under ``benchmarks/out/`` or ``OTKLIK_BENCH_DATABASE_URL``
(schema ``public`` is DROPPED: a throwaway database only).
"""

# ruff: noqa: E501 - SQL text is easier to read unwrapped
from __future__ import annotations

import asyncio
import os
import re
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psycopg
from httpx import ASGITransport, AsyncClient
from sqlalchemy import event, text

from otklik import db, migrate
from otklik.app import create_app
from otklik.config import Settings
from otklik.identity.audit import Actor
from otklik.identity.roles import Role
from otklik.identity.service import create_user
from otklik.improvement.models import CR_STATES
from otklik.registry.reference import seed_reference
from otklik.registry.service import seed_catalogue

N = int(os.environ.get("OTKLIK_BENCH_CR", "100000"))
REQUESTS = 40
OUT = Path(__file__).resolve().parent / "out"
PASSWORD = "bench-password-123"  # noqa: S105 - a throwaway benchmark database
STATES = [s for s in CR_STATES if s != "closed"]

GENERATE = [
    """INSERT INTO change_requests (title, problem, subject_kind, subject_code, region_code,
         owner_label, state, hyp_indicator, hyp_unit, hyp_from, hyp_to, hyp_by, planned_release,
         created_at, updated_at)
       SELECT 'Запрос ' || g || ': ' || (ARRAY['сократить срок', 'убрать лишние документы',
              'электронная очередь', 'запись через портал', 'проактивное информирование',
              'понятная навигация', 'напоминание о приёме', 'единое окно', 'онлайн-консультация',
              'отказ от бумажной карты'])[1 + g % 10], 'Проблема ' || g,
              'service', s.codes[1 + g % array_length(s.codes, 1)],
              r.codes[1 + g % array_length(r.codes, 1)], 'Участник ' || (g % 500),
              (CAST(:states AS text[]))[1 + g % :n_states], 'overall', 'балл', 3.9, 4.3,
              DATE '2027-06-30', DATE '2027-01-01' + (g % 365),
              now() - make_interval(mins => g), now() - make_interval(mins => g)
       FROM generate_series(1, :n) g,
            (SELECT array_agg(code ORDER BY code) codes FROM services) s,
            (SELECT array_agg(code ORDER BY code) codes FROM regions) r""",
    """INSERT INTO change_request_evidence (change_request_id, kind, ref)
       SELECT id, 'proposal', 'письмо ' || id FROM change_requests""",
    """INSERT INTO improvement_events (entity, entity_id, actor_label, action, to_state, at)
       SELECT 'change_request', id, 'bench', 'created', 'draft', created_at FROM change_requests""",
    "ANALYZE",
]


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


async def timed(fn: Callable[[], Awaitable[Any]]) -> float:
    t0 = time.perf_counter()
    await fn()
    return time.perf_counter() - t0


async def _login(client: AsyncClient, factory: Any, role: Role) -> None:
    email = f"{role.value}-{time.time_ns()}@bench.test"
    async with db.transaction(factory) as s:
        await create_user(
            s, Actor.system("bench"), email=email, role=role, scope=None, password=PASSWORD
        )
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert token
    r = await client.post(
        "/login", data={"csrf_token": token[1], "email": email, "password": PASSWORD}
    )
    assert r.status_code == 303, r.text


async def run(url: str, tmp: Path) -> None:
    engine = db.create_engine(db.to_async_url(url))
    factory = db.session_factory(engine)
    async with db.transaction(factory) as s:
        await seed_reference(s)
        await seed_catalogue(s)
    t0 = time.perf_counter()
    async with db.transaction(factory) as s:
        for sql in GENERATE[:-1]:
            await s.execute(text(sql), {"n": N, "states": STATES, "n_states": len(STATES)})
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))  # what autovacuum does after a bulk load
    print(f"generated {N} change requests in {time.perf_counter() - t0:.1f} s", flush=True)

    settings = Settings(env="test", data_dir=tmp, secret_key="b" * 40, pii_key="p" * 40)
    app = create_app(settings, db.to_async_url(url))
    app.state.sessionmaker = factory
    transport = ASGITransport(app=app)
    async with engine.connect() as conn:
        ids = [
            r[0]
            for r in await conn.execute(
                text("SELECT id FROM change_requests ORDER BY random() LIMIT :k"), {"k": REQUESTS}
            )
        ]
        submitted = [
            r[0]
            for r in await conn.execute(
                text(
                    "SELECT id FROM change_requests WHERE state = 'submitted' ORDER BY id LIMIT :k"
                ),
                {"k": REQUESTS + 5},
            )
        ]

    async def by_id(i: int) -> None:
        async with factory() as s:
            (await s.execute(text("SELECT * FROM change_requests WHERE id = :i"), {"i": i})).one()

    base_select = [await timed(lambda i=i: by_id(i)) for i in ids]
    async with AsyncClient(transport=transport, base_url="http://bench") as plain:
        base_health = [await timed(lambda: plain.get("/healthz")) for _ in range(REQUESTS)]
    b = p95(base_select)
    print(
        f"baseline: SELECT by id p95 {1000 * b:.2f} ms; /healthz p95 {1000 * p95(base_health):.2f} ms",
        flush=True,
    )

    async with AsyncClient(transport=transport, base_url="http://bench") as client:
        await _login(client, factory, Role.coordinator)
        for label, params in (
            ("page 1", {}),
            ("page 500", {"page": 500}),
            ("state=wg_review", {"state": "wg_review"}),
            ("search q=очередь", {"q": "очередь"}),
            ("search q=77777 (number)", {"q": "77777"}),
        ):
            first = await client.get("/api/v1/change-requests", params=params)
            assert first.status_code == 200, first.text
            times = [
                await timed(lambda p=params: client.get("/api/v1/change-requests", params=p))
                for _ in range(REQUESTS)
            ]
            print(
                f"1. list ({label:<20}) total {first.json()['total']:>6}: p95 {1000 * p95(times):6.1f} ms "
                f"(median {1000 * statistics.median(times):.1f}; {p95(times) / b:.0f}x SELECT by id; goal < 150 ms)",
                flush=True,
            )
    async with AsyncClient(transport=transport, base_url="http://bench") as client:
        await _login(client, factory, Role.analyst)
        # statements of one transition request (load-independent): count and list them
        seen: list[str] = []

        def count(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
            seen.append(" ".join(statement.split())[:90])

        event.listen(engine.sync_engine, "before_cursor_execute", count)
        r = await client.post(
            f"/api/v1/change-requests/{submitted[-1]}/transitions", json={"to": "expertise"}
        )
        event.remove(engine.sync_engine, "before_cursor_execute", count)
        assert r.status_code == 200, r.text
        print(f"2. one transition request: {len(seen)} SQL statements", flush=True)
        for k, st in enumerate(seen, 1):
            print(f"   {k:2}. {st}", flush=True)
        times = []
        for i in submitted[:REQUESTS]:
            t = await timed(
                lambda i=i: client.post(
                    f"/api/v1/change-requests/{i}/transitions", json={"to": "expertise"}
                )
            )
            times.append(t)
        last = await client.get(f"/api/v1/change-requests/{submitted[0]}")
        assert last.json()["state"] == "expertise", last.text
    print(
        f"2. transition submitted -> expertise: p95 {1000 * p95(times):.1f} ms "
        f"(median {1000 * statistics.median(times):.1f}; {p95(times) / b:.0f}x SELECT by id; goal < 50 ms)",
        flush=True,
    )
    await engine.dispose()


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="changes-", dir=OUT))
    url = os.environ.get("OTKLIK_BENCH_DATABASE_URL")
    try:
        if not url:
            url = db.start_embedded(tmp / "pgdata", database="bench")
        with psycopg.connect(db.to_libpq_url(url), autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
        migrate.upgrade(db.to_async_url(url))
        asyncio.run(run(url, tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
