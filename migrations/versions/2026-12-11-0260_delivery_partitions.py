"""Monthly partitions for deliveries (issue 19, item 5)

``deliveries`` is partitioned by ``created_at`` (a timestamptz, set at insert, never updated),
one partition a Moscow month (``deliveries_pYYYYMM``, cut at Moscow midnight like
``otklik.ops.partitions.Table(timestamptz=True)``) from its oldest row (or this month) to three
months ahead, plus ``deliveries_default``; the job ``ops.maintain_partitions`` keeps them and
drops the months past ``OTKLIK_RETENTION_MONTHS``. Every statement of the delivery loop finds
its rows by ``(id, created_at)`` (docs/deployment.md, "Partitions and retention").

Keys: the primary key is (id, created_at). The idempotency key stays globally unique without a
global index: a new key is a UUIDv7-shaped value that encodes its row's ``created_at`` to the
microsecond (``delivery_key(now())``, the column's default, with ``created_at``'s default
``now()``: the same transaction time), a CHECK holds every new row to it
(``delivery_key_time``), so ``UNIQUE (idempotency_key, created_at)`` is uniqueness of the key
itself, and a status callback finds the one partition from the key. Keys made before this
migration (random version-4 UUIDs, unique when copied) decode to NULL and pass the CHECK; a
callback for one of them is looked up in every partition (they are gone with the first
month's drop past retention).

The foreign key to ``invitations`` is dropped and its ON DELETE CASCADE replaced by the
statement trigger ``invitations_delete_deliveries`` (the contract shared with the
``invitations`` partitioning, written identically by both migrations).

Existing rows are copied inside this migration (one transaction); ``deliveries_id_seq`` moves
to the new table.

Revision ID: 20261211_0260
Revises: 20261211_0250
"""

from __future__ import annotations

from alembic import op

revision: str = "20261211_0260"
down_revision: str | None = "20261211_0250"
branch_labels = None
depends_on = None

AHEAD = 3  # months after the current one created here (the job keeps the same horizon)

KEY_FUNCTIONS = """
-- a UUIDv7 layout: 48 bits of Unix milliseconds, the version 7, 12 bits holding the
-- microseconds within the millisecond (0-999), the variant and 62 random bits
CREATE OR REPLACE FUNCTION delivery_key(at timestamptz) RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
  SELECT encode(overlay(uuid_send(gen_random_uuid()) PLACING int8send(
      ((floor(extract(epoch FROM at) * 1000)::bigint) << 16) | 28672
      | ((floor(extract(epoch FROM at) * 1000000)::bigint) % 1000)) FROM 1 FOR 8), 'hex')::uuid
$$;
-- the creation time a key encodes; NULL for a key of another version (made before 0260)
CREATE OR REPLACE FUNCTION delivery_key_time(k uuid) RETURNS timestamptz
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE WHEN substr(k::text, 15, 1) = '7' THEN
    timestamptz 'epoch'
    + ((('x' || substr(replace(k::text, '-', ''), 1, 12))::bit(48)::bigint) * 1000
       + (('x' || substr(k::text, 16, 3))::bit(12)::int)) * interval '1 microsecond'
  END
$$;
"""

CASCADE_TRIGGER = """
ALTER TABLE deliveries DROP CONSTRAINT IF EXISTS deliveries_invitation_id_fkey;
ALTER TABLE deliveries DROP CONSTRAINT IF EXISTS fk_deliveries_invitation_id_invitations;
CREATE OR REPLACE FUNCTION invitations_delete_deliveries() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM deliveries d USING gone g WHERE d.invitation_id = g.id;
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS invitations_delete_deliveries ON invitations;
CREATE TRIGGER invitations_delete_deliveries AFTER DELETE ON invitations
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT
  EXECUTE FUNCTION invitations_delete_deliveries();
"""

# A frozen copy of what ``otklik.ops.partitions`` does at run time: Moscow months.
MONTHS = f"""
CREATE TABLE deliveries_default PARTITION OF deliveries DEFAULT;
DO $$
DECLARE
  m date;
  last date := (date_trunc('month', now() AT TIME ZONE 'Europe/Moscow')
                + interval '{AHEAD} months')::date;
BEGIN
  SELECT least(date_trunc('month', min(created_at AT TIME ZONE 'Europe/Moscow'))::date,
               date_trunc('month', now() AT TIME ZONE 'Europe/Moscow')::date)
    INTO m FROM deliveries_unpartitioned;
  WHILE m <= last LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF deliveries FOR VALUES FROM (%L) TO (%L)',
      'deliveries_p' || to_char(m, 'YYYYMM'),
      to_char(m, 'YYYY-MM-DD') || ' 00:00:00 Europe/Moscow',
      to_char(m + interval '1 month', 'YYYY-MM-DD') || ' 00:00:00 Europe/Moscow');
    m := (m + interval '1 month')::date;
  END LOOP;
END $$;
"""  # noqa: S608 - composed of constant names


def upgrade() -> None:
    op.execute(
        KEY_FUNCTIONS  # noqa: S608 - composed of constant fragments
        + CASCADE_TRIGGER
        + """
        ALTER TABLE deliveries RENAME TO deliveries_unpartitioned;
        ALTER TABLE deliveries_unpartitioned RENAME CONSTRAINT pk_deliveries
          TO pk_deliveries_unpartitioned;
        ALTER TABLE deliveries_unpartitioned RENAME CONSTRAINT uq_deliveries_idempotency_key
          TO uq_deliveries_unpartitioned;
        DROP INDEX ix_deliveries_due, ix_deliveries_invitation_id;

        CREATE TABLE deliveries (
          LIKE deliveries_unpartitioned INCLUDING DEFAULTS INCLUDING STORAGE,
          CONSTRAINT pk_deliveries PRIMARY KEY (id, created_at),
          CONSTRAINT uq_deliveries_idempotency_key UNIQUE (idempotency_key, created_at)
        ) PARTITION BY RANGE (created_at);
        -- every new row's key encodes its creation time; only the rows copied here may not
        DO $$
        BEGIN
          EXECUTE format('ALTER TABLE deliveries ADD CONSTRAINT ck_deliveries_key_time CHECK ('
            '(created_at = delivery_key_time(idempotency_key)) IS TRUE OR '
            '(delivery_key_time(idempotency_key) IS NULL AND created_at <= %L))',
            (SELECT greatest(max(created_at), now()) FROM deliveries_unpartitioned));
        END $$;
        ALTER TABLE deliveries ALTER COLUMN idempotency_key SET DEFAULT delivery_key(now());
        ALTER SEQUENCE deliveries_id_seq OWNED BY deliveries.id;
        """
        + MONTHS
        + """
        INSERT INTO deliveries SELECT * FROM deliveries_unpartitioned;
        DROP TABLE deliveries_unpartitioned;
        CREATE INDEX ix_deliveries_due ON deliveries (next_attempt_at, id)
          WHERE status = 'queued';
        CREATE INDEX ix_deliveries_invitation_id ON deliveries (invitation_id);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE deliveries RENAME TO deliveries_partitioned;
        ALTER TABLE deliveries_partitioned RENAME CONSTRAINT pk_deliveries TO pk_deliveries_p;
        ALTER TABLE deliveries_partitioned RENAME CONSTRAINT uq_deliveries_idempotency_key
          TO uq_deliveries_p;
        DROP INDEX ix_deliveries_due, ix_deliveries_invitation_id;
        CREATE TABLE deliveries (
          LIKE deliveries_partitioned INCLUDING DEFAULTS INCLUDING STORAGE,
          CONSTRAINT pk_deliveries PRIMARY KEY (id),
          CONSTRAINT uq_deliveries_idempotency_key UNIQUE (idempotency_key));
        ALTER TABLE deliveries ALTER COLUMN idempotency_key DROP DEFAULT;
        ALTER SEQUENCE deliveries_id_seq OWNED BY deliveries.id;
        INSERT INTO deliveries SELECT * FROM deliveries_partitioned;
        DROP TABLE deliveries_partitioned;
        CREATE INDEX ix_deliveries_due ON deliveries (next_attempt_at, id)
          WHERE status = 'queued';
        CREATE INDEX ix_deliveries_invitation_id ON deliveries (invitation_id);
        -- the foreign key comes back only while invitations is not partitioned (else the
        -- trigger stays: the invitations' partitioning relies on it)
        DO $$
        BEGIN
          IF (SELECT relkind FROM pg_class WHERE oid = 'invitations'::regclass) = 'r' THEN
            DELETE FROM deliveries d WHERE NOT EXISTS
              (SELECT FROM invitations i WHERE i.id = d.invitation_id);
            ALTER TABLE deliveries ADD CONSTRAINT fk_deliveries_invitation_id_invitations
              FOREIGN KEY (invitation_id) REFERENCES invitations (id) ON DELETE CASCADE;
            DROP TRIGGER invitations_delete_deliveries ON invitations;
            DROP FUNCTION invitations_delete_deliveries();
          END IF;
        END $$;
        DROP FUNCTION delivery_key_time(uuid);
        DROP FUNCTION delivery_key(timestamptz);
        """
    )
