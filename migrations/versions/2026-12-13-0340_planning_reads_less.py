"""Planning reads no service record, and a delivery's key check costs no text (issue 19,
item 3, helper plan21).

- ``outreach_tasks`` carries what the planner needs of its record — the organization, the minor
  flag and the service code — copied by the queue's trigger from the inserted rows (the body is
  spelled in ``otklik.outreach.repository.ENQUEUE_BODY``; this migration keeps a frozen copy).
  The planner took them from two index lookups per task (the record's key row, then its month's
  partition): 28–74 ms of a batch of 5 000 in EXPLAIN ANALYZE. A service record is never
  updated in these columns after intake (only its person key, by a key rotation), so the copy
  cannot go stale; the pending tasks' columns are filled here.
- ``delivery_key_time``, which the CHECK ``ck_deliveries_key_time`` calls for every inserted
  delivery, reads the key's bytes instead of three text renderings of the uuid, and is now
  inlined: the old body added a stable ``timestamptz + interval`` to an IMMUTABLE STRICT
  function, so PostgreSQL called it as a SQL function per row (~5 µs). The same result for
  every key (v7 keys decode, other versions and NULL give NULL; compared on 101 001 keys in
  two time zones); inserting 3 500 deliveries took 53–56 ms of backend CPU, now 28–31 ms.

Revision ID: 20261213_0340
Revises: 20261213_0330
"""

from __future__ import annotations

from alembic import op

revision: str = "20261213_0340"
down_revision: str | None = "20261213_0330"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE outreach_tasks ADD COLUMN organization_id bigint,
          ADD COLUMN is_minor boolean, ADD COLUMN service_code varchar(100);
        UPDATE outreach_tasks t
          SET organization_id = r.organization_id, is_minor = r.is_minor,
            service_code = r.service_code
          FROM service_record_keys k JOIN service_records r
            ON r.id = k.id AND r.received_at = k.received_at
          WHERE k.id = t.service_record_id;
        ALTER TABLE outreach_tasks ALTER COLUMN organization_id SET NOT NULL,
          ALTER COLUMN is_minor SET NOT NULL, ALTER COLUMN service_code SET NOT NULL;
        CREATE OR REPLACE FUNCTION outreach_enqueue_tasks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO outreach_tasks (service_record_id, run_after, person_part, organization_id,
    is_minor, service_code)
  SELECT id, received_at, get_byte(person_key, 0) >> 4, organization_id, is_minor,
    service_code
  FROM new_records
  WHERE channel <> 'history';
  RETURN NULL;
END $$;

-- the creation time a key encodes; NULL for a key of another version (made before 0260) or
-- none: the version nibble, the 48 bits of milliseconds and the 12 bits of microseconds read
-- from the bytes. Immutable through and through (timestamp + interval, then AT TIME ZONE
-- 'UTC': timestamptz + interval is only stable) and not STRICT (a NULL gives NULL all the
-- same), so PostgreSQL inlines it into the CHECK instead of calling a SQL function per row
CREATE OR REPLACE FUNCTION delivery_key_time(k uuid) RETURNS timestamptz
LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE AS $$
  SELECT CASE WHEN get_byte(uuid_send(k), 6) >> 4 = 7 THEN
    (timestamp 'epoch'
     + ((('x' || encode(substring(uuid_send(k) FROM 1 FOR 6), 'hex'))::bit(48)::bigint) * 1000
        + ((get_byte(uuid_send(k), 6) & 15) << 8 | get_byte(uuid_send(k), 7)))
       * interval '1 microsecond') AT TIME ZONE 'UTC'
  END
$$;
        """
    )


def downgrade() -> None:
    op.execute(
        """
CREATE OR REPLACE FUNCTION delivery_key_time(k uuid) RETURNS timestamptz
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE WHEN substr(k::text, 15, 1) = '7' THEN
    timestamptz 'epoch'
    + ((('x' || substr(replace(k::text, '-', ''), 1, 12))::bit(48)::bigint) * 1000
       + (('x' || substr(k::text, 16, 3))::bit(12)::int)) * interval '1 microsecond'
  END
$$;
        CREATE OR REPLACE FUNCTION outreach_enqueue_tasks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO outreach_tasks (service_record_id, run_after, person_part)
  SELECT id, received_at, get_byte(person_key, 0) >> 4 FROM new_records
  WHERE channel <> 'history';
  RETURN NULL;
END $$;
        ALTER TABLE outreach_tasks DROP COLUMN organization_id, DROP COLUMN is_minor,
          DROP COLUMN service_code;
        """
    )
