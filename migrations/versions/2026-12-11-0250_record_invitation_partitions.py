"""Monthly partitions for service records and invitations, with key tables (issue 19, item 5)

``service_records`` is partitioned by ``received_at`` and ``invitations`` by ``created_at``
(timestamptz, months cut at Moscow midnight like ``otklik.ops.partitions``): both are set by
the server when the row is written and never updated, so new rows always land in the current
month (a source's back-dated ``served_at`` would not), and a record's invitations are never
older than it. Primary keys become (id, received_at) and (id, created_at).

The global uniqueness a partitioned table cannot hold moves to two unpartitioned key tables,
written by the same statement as the row:

- ``service_record_keys (id, source_id, record_id, received_at)``, UNIQUE (source_id,
  record_id): intake's exactly-once dedup, whatever month the record was first received in;
- ``invitation_keys (id, token_hash, public_id, service_record_id, created_at)``, UNIQUE
  token_hash and public_id: the form's and the callbacks' lookups; ``service_record_id``
  (indexed) finds a record's links in one probe (the answer's lock in ``STORE``).

The ids come from the old sequences, now owned by the key tables; the partitioned tables'
``id`` has no default, so a row cannot be written without its key row.

Foreign keys: ``contacts`` and ``outreach_tasks`` (``service_record_id``) and
``invitation_keys`` reference ``service_record_keys(id)``; ``deliveries.invitation_id`` loses
its foreign key (replaced by the statement trigger ``invitations_delete_deliveries``, the
contract shared with the deliveries' partitioning). What the cascades did when a row is
deleted, statement triggers do: a deleted service record takes its invitations and its key row
(and through it its contacts and task); a deleted invitation its key row and its deliveries.
The foreign key out of ``invitations`` to ``contacts`` (ON DELETE SET NULL) stays.

Rows are copied inside this migration (one transaction); the outreach queue's trigger is
created after the copy, so no task is queued twice.

Revision ID: 20261211_0250
Revises: 20261210_0240
"""

from __future__ import annotations

from alembic import op

revision: str = "20261211_0250"
down_revision: str | None = "20261210_0240"
branch_labels = None
depends_on = None

AHEAD = 3  # months after the current one created here (the job keeps the same horizon)
MOSCOW = "Europe/Moscow"


def _months(table: str, source: str, key: str, options: str = "") -> str:
    """A DO block: the DEFAULT partition and one partition per Moscow month from the oldest
    row of ``source`` (or this month) to AHEAD months ahead (``otklik.ops.partitions``'s
    names and bounds)."""
    return f"""
    CREATE TABLE {table}_default PARTITION OF {table} DEFAULT {options};
    DO $$
    DECLARE
      m date;
      last date := (date_trunc('month', now() AT TIME ZONE '{MOSCOW}')
                    + interval '{AHEAD} months')::date;
    BEGIN
      SELECT least(date_trunc('month', min({key} AT TIME ZONE '{MOSCOW}'))::date,
                   date_trunc('month', now() AT TIME ZONE '{MOSCOW}')::date)
        INTO m FROM {source};
      WHILE m <= last LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF {table} FOR VALUES FROM (%L) TO (%L) '
          || '{options}', '{table}_p' || to_char(m, 'YYYYMM'),
          to_char(m, 'YYYY-MM-DD') || ' 00:00:00 {MOSCOW}',
          to_char(m + interval '1 month', 'YYYY-MM-DD') || ' 00:00:00 {MOSCOW}');
        m := (m + interval '1 month')::date;
      END LOOP;
    END $$;
    """  # noqa: S608 - composed of constant names


DELETE_DELIVERIES = """
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

OUTREACH_ENQUEUE = """
CREATE TRIGGER service_records_outreach_enqueue AFTER INSERT ON service_records
  REFERENCING NEW TABLE AS new_records FOR EACH STATEMENT EXECUTE FUNCTION outreach_enqueue_tasks();
"""


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE deliveries DROP CONSTRAINT IF EXISTS deliveries_invitation_id_fkey;
        ALTER TABLE deliveries DROP CONSTRAINT IF EXISTS fk_deliveries_invitation_id_invitations;
        ALTER TABLE contacts DROP CONSTRAINT fk_contacts_service_record_id_service_records;
        ALTER TABLE outreach_tasks
          DROP CONSTRAINT fk_outreach_tasks_service_record_id_service_records;

        -- the key tables, filled from the rows
        CREATE TABLE service_record_keys (
          id bigint NOT NULL DEFAULT nextval('service_records_id_seq'),
          source_id integer NOT NULL,
          record_id varchar(100) NOT NULL,
          received_at timestamptz NOT NULL,
          CONSTRAINT pk_service_record_keys PRIMARY KEY (id),
          CONSTRAINT uq_service_record_keys_source_id UNIQUE (source_id, record_id)
        );
        CREATE TABLE invitation_keys (
          id bigint NOT NULL DEFAULT nextval('invitations_id_seq'),
          token_hash bytea NOT NULL,
          public_id uuid NOT NULL,
          service_record_id bigint NOT NULL,
          created_at timestamptz NOT NULL,
          CONSTRAINT pk_invitation_keys PRIMARY KEY (id),
          CONSTRAINT uq_invitation_keys_token_hash UNIQUE (token_hash),
          CONSTRAINT uq_invitation_keys_public_id UNIQUE (public_id),
          CONSTRAINT fk_invitation_keys_service_record_id_service_record_keys
            FOREIGN KEY (service_record_id) REFERENCES service_record_keys (id)
        );
        INSERT INTO service_record_keys (id, source_id, record_id, received_at)
        SELECT id, source_id, record_id, received_at FROM service_records;
        INSERT INTO invitation_keys (id, token_hash, public_id, service_record_id, created_at)
        SELECT id, token_hash, public_id, service_record_id, created_at FROM invitations;
        CREATE INDEX ix_invitation_keys_service_record_id
          ON invitation_keys (service_record_id);
        ALTER SEQUENCE service_records_id_seq OWNED BY service_record_keys.id;
        ALTER SEQUENCE invitations_id_seq OWNED BY invitation_keys.id;

        -- the old tables out of the way
        ALTER TABLE invitations RENAME TO invitations_unpartitioned;
        ALTER TABLE invitations_unpartitioned
          DROP CONSTRAINT fk_invitations_contact_id_contacts,
          DROP CONSTRAINT fk_invitations_service_record_id_service_records;
        ALTER TABLE invitations_unpartitioned RENAME CONSTRAINT pk_invitations
          TO pk_invitations_unpartitioned;
        ALTER TABLE invitations_unpartitioned
          DROP CONSTRAINT uq_invitations_public_id, DROP CONSTRAINT uq_invitations_token_hash;
        DROP INDEX ix_invitations_contact_id, ix_invitations_person_created,
          ix_invitations_service_record_id;
        ALTER TABLE service_records RENAME TO service_records_unpartitioned;
        ALTER TABLE service_records_unpartitioned RENAME CONSTRAINT pk_service_records
          TO pk_service_records_unpartitioned;
        ALTER TABLE service_records_unpartitioned
          DROP CONSTRAINT uq_service_records_source_id;
        DROP INDEX ix_service_records_organization_served, ix_service_records_source_received;
        DROP TRIGGER service_records_outreach_enqueue ON service_records_unpartitioned;

        CREATE TABLE service_records (
          LIKE service_records_unpartitioned INCLUDING DEFAULTS INCLUDING STORAGE,
          CONSTRAINT pk_service_records PRIMARY KEY (id, received_at)
        ) PARTITION BY RANGE (received_at);
        ALTER TABLE service_records ALTER COLUMN id DROP DEFAULT;
        CREATE TABLE invitations (
          LIKE invitations_unpartitioned INCLUDING DEFAULTS INCLUDING STORAGE,
          CONSTRAINT pk_invitations PRIMARY KEY (id, created_at),
          CONSTRAINT fk_invitations_contact_id_contacts
            FOREIGN KEY (contact_id) REFERENCES contacts (id) ON DELETE SET NULL
        ) PARTITION BY RANGE (created_at);
        ALTER TABLE invitations ALTER COLUMN id DROP DEFAULT;
        """  # noqa: S608 - composed of constant fragments
        + _months("service_records", "service_records_unpartitioned", "received_at")
        + _months(
            "invitations", "invitations_unpartitioned", "created_at", "WITH (fillfactor = 70)"
        )
        + """
        INSERT INTO service_records SELECT * FROM service_records_unpartitioned;
        INSERT INTO invitations SELECT * FROM invitations_unpartitioned;
        DROP TABLE invitations_unpartitioned, service_records_unpartitioned;

        CREATE INDEX ix_service_records_organization_served
          ON service_records (organization_id, served_at);
        CREATE INDEX ix_service_records_source_received ON service_records (source_id, received_at);
        CREATE INDEX ix_invitations_contact_id ON invitations (contact_id);
        CREATE INDEX ix_invitations_person_created ON invitations (person_key, created_at);
        CREATE INDEX ix_invitations_service_record_id ON invitations (service_record_id);

        ALTER TABLE contacts ADD CONSTRAINT fk_contacts_service_record_id_service_record_keys
          FOREIGN KEY (service_record_id) REFERENCES service_record_keys (id) ON DELETE CASCADE;
        ALTER TABLE outreach_tasks
          ADD CONSTRAINT fk_outreach_tasks_service_record_id_service_record_keys
          FOREIGN KEY (service_record_id) REFERENCES service_record_keys (id) ON DELETE CASCADE;
        """
        + OUTREACH_ENQUEUE
        + DELETE_DELIVERIES
        + """
        -- what the foreign keys' ON DELETE CASCADE did for a row deleted row by row
        CREATE FUNCTION service_records_delete_dependents() RETURNS trigger
        LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM invitations i USING gone g WHERE i.service_record_id = g.id;
  DELETE FROM service_record_keys k USING gone g WHERE k.id = g.id;  -- contacts, task: cascade
  RETURN NULL;
END $$;
        CREATE TRIGGER service_records_delete_dependents AFTER DELETE ON service_records
          REFERENCING OLD TABLE AS gone FOR EACH STATEMENT
          EXECUTE FUNCTION service_records_delete_dependents();
        CREATE FUNCTION invitations_delete_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM invitation_keys k USING gone g WHERE k.id = g.id;
  RETURN NULL;
END $$;
        CREATE TRIGGER invitations_delete_keys AFTER DELETE ON invitations
          REFERENCING OLD TABLE AS gone FOR EACH STATEMENT
          EXECUTE FUNCTION invitations_delete_keys();
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TRIGGER invitations_delete_keys ON invitations;
        DROP FUNCTION invitations_delete_keys();
        DROP TRIGGER service_records_delete_dependents ON service_records;
        DROP FUNCTION service_records_delete_dependents();
        DROP TRIGGER invitations_delete_deliveries ON invitations;
        DROP FUNCTION invitations_delete_deliveries();
        DROP TRIGGER service_records_outreach_enqueue ON service_records;
        ALTER TABLE contacts DROP CONSTRAINT fk_contacts_service_record_id_service_record_keys;
        ALTER TABLE outreach_tasks
          DROP CONSTRAINT fk_outreach_tasks_service_record_id_service_record_keys;

        ALTER TABLE service_records RENAME TO service_records_partitioned;
        ALTER TABLE service_records_partitioned RENAME CONSTRAINT pk_service_records
          TO pk_service_records_p;
        DROP INDEX ix_service_records_organization_served, ix_service_records_source_received;
        ALTER TABLE invitations RENAME TO invitations_partitioned;
        ALTER TABLE invitations_partitioned RENAME CONSTRAINT pk_invitations TO pk_invitations_p;
        ALTER TABLE invitations_partitioned DROP CONSTRAINT fk_invitations_contact_id_contacts;
        DROP INDEX ix_invitations_contact_id, ix_invitations_person_created,
          ix_invitations_service_record_id;

        CREATE TABLE service_records (
          LIKE service_records_partitioned INCLUDING DEFAULTS INCLUDING STORAGE,
          CONSTRAINT pk_service_records PRIMARY KEY (id),
          CONSTRAINT uq_service_records_source_id UNIQUE (source_id, record_id));
        CREATE TABLE invitations (
          LIKE invitations_partitioned INCLUDING DEFAULTS INCLUDING STORAGE,
          CONSTRAINT pk_invitations PRIMARY KEY (id),
          CONSTRAINT uq_invitations_public_id UNIQUE (public_id),
          CONSTRAINT uq_invitations_token_hash UNIQUE (token_hash),
          CONSTRAINT fk_invitations_contact_id_contacts
            FOREIGN KEY (contact_id) REFERENCES contacts (id) ON DELETE SET NULL,
          CONSTRAINT fk_invitations_service_record_id_service_records
            FOREIGN KEY (service_record_id) REFERENCES service_records (id) ON DELETE CASCADE
        ) WITH (fillfactor = 70);
        INSERT INTO service_records SELECT * FROM service_records_partitioned;
        INSERT INTO invitations SELECT * FROM invitations_partitioned;
        DROP TABLE invitations_partitioned, service_records_partitioned;
        ALTER TABLE service_records ALTER COLUMN id SET DEFAULT nextval('service_records_id_seq');
        ALTER TABLE invitations ALTER COLUMN id SET DEFAULT nextval('invitations_id_seq');
        ALTER SEQUENCE service_records_id_seq OWNED BY service_records.id;
        ALTER SEQUENCE invitations_id_seq OWNED BY invitations.id;
        DROP TABLE invitation_keys, service_record_keys;

        CREATE INDEX ix_service_records_organization_served
          ON service_records (organization_id, served_at);
        CREATE INDEX ix_service_records_source_received ON service_records (source_id, received_at);
        CREATE INDEX ix_invitations_contact_id ON invitations (contact_id);
        CREATE INDEX ix_invitations_person_created ON invitations (person_key, created_at);
        CREATE INDEX ix_invitations_service_record_id ON invitations (service_record_id);
        ALTER TABLE contacts ADD CONSTRAINT fk_contacts_service_record_id_service_records
          FOREIGN KEY (service_record_id) REFERENCES service_records (id) ON DELETE CASCADE;
        ALTER TABLE outreach_tasks
          ADD CONSTRAINT fk_outreach_tasks_service_record_id_service_records
          FOREIGN KEY (service_record_id) REFERENCES service_records (id) ON DELETE CASCADE;
        ALTER TABLE deliveries ADD CONSTRAINT fk_deliveries_invitation_id_invitations
          FOREIGN KEY (invitation_id) REFERENCES invitations (id) ON DELETE CASCADE;
        """  # noqa: S608 - composed of constant fragments
        + OUTREACH_ENQUEUE
    )
