"""The indicator queue's fold against the per-statement rollup triggers it replaced (issue 19).

On a throwaway database (``OTKLIK_BENCH_DATABASE_URL``, else ``OTKLIK_TEST_DATABASE_URL``;
schema ``public`` is DROPPED), answers go in as the respondent form stores them: one statement
per questionnaire (the response and its items), each in its own transaction, over one
connection, ``ORGS`` organizations, 8 items each. The CPU of the database backend that runs
them is read from ``/proc`` (the figure a busy machine does not distort much). Per round:

* **queue** (this revision): the answers' statements append to ``indicator_queue``; then a fold
  every ``BATCH`` questionnaires (what the worker folds in a second at that rate), its own
  backend's CPU measured apart;
* **none**: the same statements with the queue's triggers disabled: what a submission costs
  the database without any indicator work;
* **triggers** (before: ``alembic downgrade 20261210_0240``, upgraded again afterwards): the
  rollup's statement-level triggers adding each answer to the rollup and the summary inside
  the statement.

Printed: CPU per questionnaire of each, the indicator work per questionnaire (queue append +
fold vs the triggers' part), and the ratio; medians of ``ROUNDS`` rounds. One connection: the
row-lock waits of concurrent submissions of one organization (which the triggers had and the
fold has not) are not in these figures.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import uuid
from datetime import date
from typing import Any

import psycopg
from alembic import command

from otklik import db, migrate

ORGS = int(os.environ.get("OTKLIK_BENCH_FOLD_ORGS", "200"))
PER_ROUND = int(os.environ.get("OTKLIK_BENCH_FOLD_ANSWERS", "3000"))
BATCH = int(os.environ.get("OTKLIK_BENCH_FOLD_BATCH", "500"))
ROUNDS = 3
BEFORE = "20261210_0240"
ITEMS = ("overall", "organization", "comfort", "staff", "information", "accessibility")
STORE = """
WITH r AS (
  INSERT INTO responses (id, questionnaire_version, organization_id, organization_type_code,
    region_code, founder_id, service_code, served_on, answered_on, channel, respondent,
    age_band, answers)
  VALUES (%(id)s, '2025.1', %(o)s, 'med_outpatient', '77', 1, 'x', %(d)s, %(d)s, 'portal',
    'recipient', '30-39', '{}')
  RETURNING id
)
INSERT INTO response_items (response_id, code, value, organization_id, answered_on)
SELECT r.id, t.code, t.value, %(o)s, %(d)s
FROM r, unnest(%(codes)s::text[], %(vals)s::smallint[]) t(code, value)
"""
QUEUE_TRIGGERS = (
    ("responses", "indicator_queue_responses_add"),
    ("response_items", "indicator_queue_items_add"),
)
TICK = os.sysconf("SC_CLK_TCK")


def cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def backend(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT pg_backend_pid()").fetchone()
    assert row is not None
    return int(row[0])


def answers(rnd: random.Random, n: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(n):
        codes = [*ITEMS, "recommend", "disability"]
        vals = [rnd.randint(1, 5) for _ in ITEMS] + [rnd.randint(0, 1), rnd.randint(0, 1)]
        out.append(
            {
                "id": uuid.uuid4(),
                "o": rnd.randint(1, ORGS),
                "d": date(2026, 11, rnd.randint(1, 28)),
                "codes": codes,
                "vals": vals,
            }
        )
    return out


def store(conn: psycopg.Connection[Any], rows: list[dict[str, Any]]) -> float:
    """CPU seconds of the backend storing ``rows``, one transaction each."""
    pid = backend(conn)
    c0 = cpu(pid)
    for r in rows:
        conn.execute(STORE, r)
    return cpu(pid) - c0


def fold_all(conn: psycopg.Connection[Any]) -> float:
    from otklik.indicators.rollup import FOLD, FOLD_LIMIT, FOLD_LOCK

    pid = backend(conn)
    c0 = cpu(pid)
    while True:
        with conn.transaction():
            row = conn.execute(FOLD_LOCK).fetchone()
            assert row is not None
            assert row[0]
            n = conn.execute(FOLD.replace(":limit", "%(limit)s"), {"limit": FOLD_LIMIT}).rowcount
        if not n:
            break
    return cpu(pid) - c0


def alembic(url: str, revision: str, down: bool = False) -> None:
    cfg = migrate.alembic_config()
    cfg.attributes["url"] = db.to_async_url(url)
    (command.downgrade if down else command.upgrade)(cfg, revision)


def run(url: str) -> None:
    libpq = db.to_libpq_url(url)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")
    migrate.upgrade(db.to_async_url(url))
    rnd = random.Random(19)
    figures: dict[str, list[float]] = {"queue": [], "fold": [], "none": [], "triggers": []}
    with psycopg.connect(libpq, autocommit=True) as warm:
        store(warm, answers(rnd, 300))  # caches, plans
        fold_all(warm)
    for r in range(ROUNDS):
        rows = answers(rnd, PER_ROUND)
        with (
            psycopg.connect(libpq, autocommit=True) as conn,
            psycopg.connect(libpq, autocommit=True) as folder,
        ):
            spent = folded = 0.0
            for i in range(0, PER_ROUND, BATCH):
                spent += store(conn, rows[i : i + BATCH])
                folded += fold_all(folder)
            figures["queue"].append(spent)
            figures["fold"].append(folded)
            for table, name in QUEUE_TRIGGERS:
                conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER {name}")
            figures["none"].append(store(conn, answers(rnd, PER_ROUND)))
            for table, name in QUEUE_TRIGGERS:
                conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER {name}")
        alembic(url, BEFORE, down=True)
        with psycopg.connect(libpq, autocommit=True) as conn:
            store(conn, answers(rnd, 100))  # the old triggers' plans
            figures["triggers"].append(store(conn, answers(rnd, PER_ROUND)))
        alembic(url, "head")
        per = {k: 1000 * v[-1] / PER_ROUND for k, v in figures.items()}
        print(
            f"round {r + 1}: ms CPU per questionnaire: queue {per['queue']:.3f} + fold "
            f"{per['fold']:.3f}; none {per['none']:.3f}; triggers {per['triggers']:.3f}; "
            f"load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    med = {k: 1000 * statistics.median(v) / PER_ROUND for k, v in figures.items()}
    work_now = med["queue"] - med["none"] + med["fold"]
    work_before = med["triggers"] - med["none"]
    print(
        f"fold ({PER_ROUND} questionnaires a round, a fold every {BATCH}, {ORGS} organizations, "
        f"medians of {ROUNDS}; load average {os.getloadavg()[0]:.1f}):"
    )
    print(
        f"  database CPU per questionnaire stored: {med['queue']:.3f} ms with the queue, "
        f"{med['triggers']:.3f} ms with the rollup triggers (baseline), {med['none']:.3f} ms "
        f"without either: ratio {med['queue'] / med['triggers']:.2f}"
    )
    print(
        f"  indicator work per questionnaire: queue append {med['queue'] - med['none']:.3f} ms "
        f"+ fold {med['fold']:.3f} ms = {work_now:.3f} ms vs the triggers {work_before:.3f} ms "
        f"(baseline): ratio {work_now / work_before:.2f}"
    )


def main() -> int:
    url = os.environ.get("OTKLIK_BENCH_DATABASE_URL") or os.environ.get("OTKLIK_TEST_DATABASE_URL")
    if not url:
        print("set OTKLIK_BENCH_DATABASE_URL (a throwaway database)", file=sys.stderr)
        return 1
    run(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
