"""The monthly partitions' migration on a database with data: every row copied into its
month's partition, the rollup and the exchange queue untouched, the cascade kept; and back
down."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from alembic import command
from sqlalchemy import make_url

from otklik.db import to_async_url, to_libpq_url
from otklik.migrate import alembic_config

BEFORE = "20261209_0180"
PARTITIONED = "20261210_0190"


@pytest.fixture
def scratch(database_url: str) -> Iterator[tuple[str, str]]:
    """A database of its own: (async URL for Alembic, libpq URL)."""
    name = f"otklik_part_{uuid.uuid4().hex[:8]}"
    admin = to_libpq_url(database_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(to_async_url(database_url)).set(database=name)
    rendered = url.render_as_string(hide_password=False)
    try:
        yield rendered, to_libpq_url(rendered)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _migrate(url: str, revision: str, down: bool = False) -> None:
    cfg = alembic_config()
    cfg.attributes["url"] = url
    (command.downgrade if down else command.upgrade)(cfg, revision)


def _all(conn: psycopg.Connection[Any], sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute(sql).fetchall()]


SEED = """
INSERT INTO questionnaire_versions (version, title, definition) VALUES ('2025.1', 't', '{}')
  ON CONFLICT DO NOTHING;
INSERT INTO responses (id, questionnaire_version, organization_id, organization_type_code,
  region_code, founder_id, service_code, served_on, answered_on, channel, respondent, age_band,
  answers)
SELECT ('00000000-0000-0000-0000-' || lpad(g::text, 12, '0'))::uuid, '2025.1', 7, 't', '77', 1,
  's', d, d, 'log', 'recipient', '30-39', '{}'
FROM generate_series(1, 4) g, LATERAL (SELECT DATE '2024-01-15' + (g * 40)) AS x(d);
INSERT INTO response_items (response_id, code, value, organization_id, answered_on)
SELECT id, c, 4, 7, answered_on FROM responses, unnest(ARRAY['overall', 'staff']) c;
INSERT INTO response_comments (response_id, code, text, organization_id, answered_on)
SELECT id, 'comment', 'Хорошо', 7, answered_on FROM responses;
"""
ROLLUP = "SELECT grain, day, code, n, total FROM indicator_rollup ORDER BY 1, 2, 3"
QUEUE = "SELECT response_id FROM exchange_queue ORDER BY 1"
PLACES = """
SELECT tableoid::regclass::text, count(*) FROM responses GROUP BY 1
UNION ALL SELECT tableoid::regclass::text, count(*) FROM response_items GROUP BY 1
"""


def test_partitions_migration_keeps_every_row(scratch: tuple[str, str]) -> None:
    url, libpq = scratch
    _migrate(url, BEFORE)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(SEED)
        rollup, queue = _all(conn, ROLLUP), _all(conn, QUEUE)
        assert len(queue) == 4
    _migrate(url, PARTITIONED)
    with psycopg.connect(libpq, autocommit=True) as conn:
        assert sorted(_all(conn, PLACES)) == [
            ("response_items_p202402", 2),
            ("response_items_p202404", 2),
            ("response_items_p202405", 2),
            ("response_items_p202406", 2),
            ("responses_p202402", 1),
            ("responses_p202404", 1),
            ("responses_p202405", 1),
            ("responses_p202406", 1),
        ]
        # copying is not answering: the rollup and the exchange queue are as they were
        assert _all(conn, ROLLUP) == rollup
        assert _all(conn, QUEUE) == queue
        for table in ("responses", "response_items"):
            assert _all(conn, f"SELECT count(*) FROM {table}_default") == [(0,)]  # noqa: S608
        # the months from the oldest row to three ahead have partitions
        months = _all(
            conn,
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'responses'::regclass",
        )[0][0]
        assert months >= 4 + 1  # the rows' months and the default at least
        # new rows still counted by the triggers; a deleted response takes its rows along
        conn.execute("DELETE FROM responses WHERE answered_on = '2024-02-24'")
        assert _all(conn, "SELECT count(*) FROM response_items") == [(6,)]
        assert _all(conn, "SELECT count(*) FROM response_comments") == [(3,)]
        assert _all(conn, "SELECT count(*) FROM exchange_queue") == [(3,)]
        assert _all(conn, ROLLUP) != rollup
    _migrate(url, BEFORE, down=True)
    with psycopg.connect(libpq, autocommit=True) as conn:
        assert _all(conn, "SELECT count(*) FROM responses") == [(3,)]
        kinds = _all(
            conn,
            "SELECT relkind::text FROM pg_class WHERE relname IN ('responses', 'response_items')",
        )
        assert kinds == [("r",)] * 2
    _migrate(url, "head")


KEYED_BEFORE = "20261210_0240"
KEYED = "20261211_0250"
RECORDS_SEED = """
INSERT INTO service_records (source_id, record_id, content_hash, organization_id, service_code,
  served_at, received_at, person_key, age_band, is_minor, channel)
SELECT 1, 'R' || g, 'h', 7, 's', at, at, 'p', '30-39', false, 'api'
FROM generate_series(1, 3) g,
  LATERAL (SELECT TIMESTAMPTZ '2024-01-31 21:30+00' + (g - 1) * interval '40 days') x(at);
INSERT INTO contacts (service_record_id, position, person_key, portal_account_confirmed,
  has_email, has_phone, sealed, expires_at)
SELECT id, 0, 'p', true, true, false, 's', received_at FROM service_records;
INSERT INTO invitations (public_id, service_record_id, person_key, organization_id, token_hash,
  created_at, expires_at)
SELECT gen_random_uuid(), id, 'p', 7, sha256(record_id::bytea), received_at, received_at
FROM service_records;
INSERT INTO deliveries (invitation_id, kind, channel, idempotency_key, next_attempt_at)
SELECT id, 'invite', 'log', gen_random_uuid(), created_at FROM invitations;
"""
KEYED_PLACES = """
SELECT tableoid::regclass::text, count(*) FROM service_records GROUP BY 1
UNION ALL SELECT tableoid::regclass::text, count(*) FROM invitations GROUP BY 1
"""
COUNTS = """
SELECT (SELECT count(*) FROM service_records), (SELECT count(*) FROM service_record_keys),
  (SELECT count(*) FROM contacts), (SELECT count(*) FROM outreach_tasks),
  (SELECT count(*) FROM invitations), (SELECT count(*) FROM invitation_keys),
  (SELECT count(*) FROM deliveries)
"""


def test_record_invitation_partitions_migration_keeps_every_row(
    scratch: tuple[str, str],
) -> None:
    url, libpq = scratch
    _migrate(url, KEYED_BEFORE)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(RECORDS_SEED)
        ids = _all(conn, "SELECT id, record_id FROM service_records ORDER BY id")
        tasks = _all(conn, "SELECT service_record_id FROM outreach_tasks ORDER BY 1")
        assert len(tasks) == 3
    _migrate(url, KEYED)
    with psycopg.connect(libpq, autocommit=True) as conn:
        # 21:30 UTC on 31 January is February in Moscow
        assert sorted(_all(conn, KEYED_PLACES)) == [
            ("invitations_p202402", 1),
            ("invitations_p202403", 1),
            ("invitations_p202404", 1),
            ("service_records_p202402", 1),
            ("service_records_p202403", 1),
            ("service_records_p202404", 1),
        ]
        assert _all(conn, "SELECT id, record_id FROM service_record_keys ORDER BY id") == ids
        # copying is not receiving: no task queued twice
        assert _all(conn, "SELECT service_record_id FROM outreach_tasks ORDER BY 1") == tasks
        assert _all(conn, COUNTS) == [(3, 3, 3, 3, 3, 3, 3)]
        # the sequences carry on through the key tables; the exactly-once key still holds
        new = _all(
            conn,
            "INSERT INTO service_record_keys (source_id, record_id, received_at) "
            "VALUES (1, 'R4', now()) RETURNING id",
        )
        assert new[0][0] > ids[-1][0]
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(
                "INSERT INTO service_record_keys (source_id, record_id, received_at) "
                "VALUES (1, 'R1', now())"
            )
        conn.execute("DELETE FROM service_record_keys WHERE record_id = 'R4'")
        # a deleted record takes its key, contact, task, invitation and delivery along
        conn.execute("DELETE FROM service_records WHERE record_id = 'R1'")
        assert _all(conn, COUNTS) == [(2, 2, 2, 2, 2, 2, 2)]
    _migrate(url, KEYED_BEFORE, down=True)
    with psycopg.connect(libpq, autocommit=True) as conn:
        assert _all(
            conn,
            COUNTS.replace("service_record_keys", "service_records").replace(
                "invitation_keys", "invitations"
            ),
        ) == [(2, 2, 2, 2, 2, 2, 2)]
        kinds = _all(
            conn,
            "SELECT relkind::text FROM pg_class "
            "WHERE relname IN ('service_records', 'invitations')",
        )
        assert kinds == [("r",)] * 2
        # the cascade is the foreign keys' again
        conn.execute("DELETE FROM service_records WHERE record_id = 'R2'")
        assert _all(conn, "SELECT count(*) FROM deliveries") == [(1,)]
        conn.execute(
            "INSERT INTO service_records (source_id, record_id, content_hash, organization_id,"
            " service_code, served_at, person_key, age_band, is_minor, channel)"
            " VALUES (1, 'R5', 'h', 7, 's', now(), 'p', '30-39', false, 'api')"
        )


BEFORE_DELIVERIES = "20261210_0240"
DELIVERIES = "20261211_0260"
# two records with an invitation each (triggers are off for the seed: no outreach task) and
# three deliveries: Moscow 30 June, Moscow 1 July (21:30 UTC on 30 June) and Moscow July
SEED_DELIVERIES = """
SET session_replication_role = replica;
INSERT INTO service_records (id, source_id, record_id, content_hash, organization_id,
  service_code, served_at, received_at, person_key, age_band, is_minor, channel)
SELECT g, 1, 'R' || g, 'h', 7, 's', '2025-06-01', '2025-06-01', '\\x01', '30-39', false, 'api'
FROM generate_series(1, 2) g;
INSERT INTO invitations (id, public_id, service_record_id, person_key, organization_id,
  token_hash, created_at, expires_at)
SELECT g, gen_random_uuid(), g, '\\x01', 7, sha256(g::text::bytea), '2025-06-01', '2025-08-01'
FROM generate_series(1, 2) g;
SET session_replication_role = origin;
INSERT INTO deliveries (invitation_id, kind, channel, idempotency_key, next_attempt_at,
  created_at, status)
VALUES (1, 'invite', 'portal', '00000000-0000-4000-8000-000000000001', now(),
        '2025-06-30 20:59:00+00', 'sent'),
       (1, 'reminder', 'portal', '00000000-0000-4000-8000-000000000002', now(),
        '2025-06-30 21:30:00+00', 'queued'),
       (2, 'invite', 'sms', '00000000-0000-4000-8000-000000000003', now(),
        '2025-07-15 12:00:00+00', 'delivered');
"""
DELIVERY_PLACES = (
    "SELECT tableoid::regclass::text, idempotency_key::text FROM deliveries ORDER BY id"
)


def test_deliveries_migration_keeps_every_row_and_key(scratch: tuple[str, str]) -> None:
    url, libpq = scratch
    _migrate(url, BEFORE_DELIVERIES)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(SEED_DELIVERIES)
        rows = _all(conn, "SELECT * FROM deliveries ORDER BY id")
    _migrate(url, DELIVERIES)
    with psycopg.connect(libpq, autocommit=True) as conn:
        assert _all(conn, "SELECT * FROM deliveries ORDER BY id") == rows
        assert _all(conn, DELIVERY_PLACES) == [
            ("deliveries_p202506", "00000000-0000-4000-8000-000000000001"),
            ("deliveries_p202507", "00000000-0000-4000-8000-000000000002"),
            ("deliveries_p202507", "00000000-0000-4000-8000-000000000003"),
        ]
        assert _all(conn, "SELECT count(*) FROM deliveries_default") == [(0,)]
        # a new row gets a key encoding its creation time, and the sequence goes on
        new = _all(
            conn,
            "INSERT INTO deliveries (invitation_id, kind, channel, next_attempt_at)"
            " VALUES (2, 'invite', 'portal', now())"
            " RETURNING id, delivery_key_time(idempotency_key) = created_at",
        )
        assert new == [(rows[-1][0] + 1, True)]
        # deleting an invitation still deletes its deliveries (the trigger)
        conn.execute("DELETE FROM invitations WHERE id = 1")
        assert _all(conn, "SELECT invitation_id FROM deliveries ORDER BY id") == [(2,), (2,)]
    _migrate(url, BEFORE_DELIVERIES, down=True)
    with psycopg.connect(libpq, autocommit=True) as conn:
        assert _all(conn, "SELECT count(*) FROM deliveries") == [(2,)]
        assert _all(conn, "SELECT relkind::text FROM pg_class WHERE relname = 'deliveries'") == [
            ("r",)
        ]
        assert _all(
            conn,
            "SELECT conname::text FROM pg_constraint WHERE conrelid = 'deliveries'::regclass"
            " AND contype = 'f'",
        ) == [("fk_deliveries_invitation_id_invitations",)]
        assert _all(conn, "SELECT count(*) FROM pg_proc WHERE proname LIKE '%delivery_key%'") == [
            (0,)
        ]
    _migrate(url, "head")
