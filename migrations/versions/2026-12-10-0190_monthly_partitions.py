"""Monthly partitions for responses, response items and deliveries (issue 19, item 5)

``responses`` and ``response_items`` are partitioned by ``answered_on`` (a date), ``deliveries``
by ``created_at`` (months in UTC): the columns the cabinets and the delivery sweeps filter on,
set once at insert and never updated. Each table gets one partition a month from its oldest row
(or this month) to three months ahead, named ``<table>_pYYYYMM``, and a DEFAULT partition
``<table>_default`` that only catches a row of a month without a partition (a back-dated
import, a test's frozen clock): the job ``ops.maintain_partitions`` moves such rows into their
month's partition, reports them, creates the months ahead and drops the months older than
``OTKLIK_RETENTION_MONTHS`` (``otklik.kit.partitions``; docs/deployment.md, "Partitions").

Keys: a partitioned table's primary key and unique constraints must include the partition
key, so ``pk_responses`` is (id, answered_on), ``pk_response_items`` (response_id, code,
answered_on), ``pk_deliveries`` (id, created_at) and ``uq_deliveries_idempotency_key``
(idempotency_key, created_at). The foreign keys into ``responses`` (from response_items,
response_comments, sealed_comments, exchange_queue, exchange_items) are replaced by the
statement trigger ``responses_delete_dependents`` (the ON DELETE CASCADE they carried); their
rows are written in the same statement as the response or from it. The foreign keys out of the
partitioned tables (to questionnaire_versions, invitations) stay.

Rows are copied into the new tables inside this migration (one transaction); the rollup, the
exchange queue and the rest see no change: their triggers are created after the copy.

``service_records`` and ``invitations`` stay unpartitioned (docs/deployment.md says why).

Revision ID: 20261210_0190
Revises: 20261209_0180
"""

from __future__ import annotations

from alembic import op

revision: str = "20261210_0190"
down_revision: str | None = "20261209_0180"
branch_labels = None
depends_on = None

AHEAD = 3  # months after the current one created here (the job keeps the same horizon)


def _months(table: str, source: str, key: str, timestamptz: bool) -> str:
    """A DO block: the DEFAULT partition and one partition per month from the oldest row of
    ``source`` (or this month) to AHEAD months ahead. A frozen copy of what
    ``otklik.kit.partitions`` does at run time."""
    month_of = f"({key} AT TIME ZONE 'UTC')" if timestamptz else key
    bound = "|| ' 00:00:00+00'" if timestamptz else ""
    return f"""
    CREATE TABLE {table}_default PARTITION OF {table} DEFAULT;
    DO $$
    DECLARE
      m date;
      last date := (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '{AHEAD} months')::date;
    BEGIN
      SELECT least(date_trunc('month', min({month_of}))::date,
                   date_trunc('month', now() AT TIME ZONE 'UTC')::date)
        INTO m FROM {source};
      WHILE m <= last LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF {table} FOR VALUES FROM (%L) TO (%L)',
          '{table}_p' || to_char(m, 'YYYYMM'), to_char(m, 'YYYY-MM-DD') {bound},
          to_char(m + interval '1 month', 'YYYY-MM-DD') {bound});
        m := (m + interval '1 month')::date;
      END LOOP;
    END $$;
    """  # noqa: S608 - composed of constant names


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE response_comments DROP CONSTRAINT fk_response_comments_response_id_responses;
        ALTER TABLE sealed_comments DROP CONSTRAINT fk_sealed_comments_response_id_responses;
        ALTER TABLE exchange_queue DROP CONSTRAINT exchange_queue_response_id_fkey;
        ALTER TABLE exchange_items DROP CONSTRAINT fk_exchange_items_response_id_responses;

        ALTER TABLE response_items RENAME TO response_items_unpartitioned;
        ALTER TABLE response_items_unpartitioned
          RENAME CONSTRAINT pk_response_items TO pk_response_items_unpartitioned;
        DROP INDEX ix_response_items_organization_day;
        ALTER TABLE responses RENAME TO responses_unpartitioned;
        ALTER TABLE responses_unpartitioned RENAME CONSTRAINT pk_responses
          TO pk_responses_unpartitioned;
        ALTER TABLE responses_unpartitioned RENAME CONSTRAINT
          fk_responses_questionnaire_version_questionnaire_versions TO fk_responses_unpartitioned;
        DROP INDEX ix_responses_answered_on, ix_responses_organization_day;
        ALTER TABLE deliveries RENAME TO deliveries_unpartitioned;
        ALTER TABLE deliveries_unpartitioned RENAME CONSTRAINT pk_deliveries
          TO pk_deliveries_unpartitioned;
        ALTER TABLE deliveries_unpartitioned RENAME CONSTRAINT uq_deliveries_idempotency_key
          TO uq_deliveries_unpartitioned;
        ALTER TABLE deliveries_unpartitioned RENAME CONSTRAINT
          fk_deliveries_invitation_id_invitations TO fk_deliveries_unpartitioned;
        DROP INDEX ix_deliveries_due, ix_deliveries_invitation_id;

        CREATE TABLE responses (LIKE responses_unpartitioned INCLUDING DEFAULTS INCLUDING STORAGE,
          CONSTRAINT pk_responses PRIMARY KEY (id, answered_on),
          CONSTRAINT fk_responses_questionnaire_version_questionnaire_versions
            FOREIGN KEY (questionnaire_version) REFERENCES questionnaire_versions (version)
        ) PARTITION BY RANGE (answered_on);
        CREATE TABLE response_items (
          LIKE response_items_unpartitioned INCLUDING DEFAULTS INCLUDING STORAGE,
          CONSTRAINT pk_response_items PRIMARY KEY (response_id, code, answered_on)
        ) PARTITION BY RANGE (answered_on);
        CREATE TABLE deliveries (LIKE deliveries_unpartitioned INCLUDING DEFAULTS INCLUDING STORAGE,
          CONSTRAINT pk_deliveries PRIMARY KEY (id, created_at),
          CONSTRAINT uq_deliveries_idempotency_key UNIQUE (idempotency_key, created_at),
          CONSTRAINT fk_deliveries_invitation_id_invitations
            FOREIGN KEY (invitation_id) REFERENCES invitations (id) ON DELETE CASCADE
        ) PARTITION BY RANGE (created_at);
        ALTER SEQUENCE deliveries_id_seq OWNED BY deliveries.id;
        """  # noqa: S608 - composed of constant fragments
        + _months("responses", "responses_unpartitioned", "answered_on", timestamptz=False)
        + _months("response_items", "response_items_unpartitioned", "answered_on", False)
        + _months("deliveries", "deliveries_unpartitioned", "created_at", timestamptz=True)
        + """
        INSERT INTO responses SELECT * FROM responses_unpartitioned;
        INSERT INTO response_items SELECT * FROM response_items_unpartitioned;
        INSERT INTO deliveries SELECT * FROM deliveries_unpartitioned;
        DROP TABLE response_items_unpartitioned, responses_unpartitioned,
          deliveries_unpartitioned;

        CREATE INDEX ix_responses_organization_day ON responses (organization_id, answered_on);
        CREATE INDEX ix_responses_answered_on ON responses (answered_on);
        CREATE INDEX ix_response_items_organization_day
          ON response_items (organization_id, answered_on);
        CREATE INDEX ix_deliveries_invitation_id ON deliveries (invitation_id);
        CREATE INDEX ix_deliveries_due ON deliveries (next_attempt_at, id)
          WHERE status = 'queued';

        CREATE TRIGGER indicator_rollup_responses_add AFTER INSERT ON responses
          REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
          EXECUTE FUNCTION indicator_rollup_responses_add();
        CREATE TRIGGER indicator_rollup_responses_sub AFTER DELETE ON responses
          REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
          EXECUTE FUNCTION indicator_rollup_responses_sub();
        CREATE TRIGGER responses_exchange_enqueue AFTER INSERT ON responses
          REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION exchange_enqueue();
        CREATE TRIGGER indicator_rollup_integral_add AFTER INSERT ON response_items
          REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
          EXECUTE FUNCTION indicator_rollup_integral_add();
        CREATE TRIGGER indicator_rollup_integral_sub AFTER DELETE ON response_items
          REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
          EXECUTE FUNCTION indicator_rollup_integral_sub();
        CREATE TRIGGER indicator_rollup_items_add AFTER INSERT ON response_items
          REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
          EXECUTE FUNCTION indicator_rollup_items_add();
        CREATE TRIGGER indicator_rollup_items_sub AFTER DELETE ON response_items
          REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
          EXECUTE FUNCTION indicator_rollup_items_sub();

        -- what the foreign keys' ON DELETE CASCADE did for a response deleted row by row
        CREATE FUNCTION responses_delete_dependents() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM response_items i USING old_rows o
    WHERE i.response_id = o.id AND i.answered_on = o.answered_on;
  DELETE FROM response_comments c USING old_rows o WHERE c.response_id = o.id;
  DELETE FROM sealed_comments c USING old_rows o WHERE c.response_id = o.id;
  DELETE FROM exchange_queue q USING old_rows o WHERE q.response_id = o.id;
  DELETE FROM exchange_items x USING old_rows o WHERE x.response_id = o.id;
  RETURN NULL;
END $$;
        CREATE TRIGGER responses_delete_dependents AFTER DELETE ON responses
          REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
          EXECUTE FUNCTION responses_delete_dependents();

        -- the oldest day each table still holds in full: rows before it were dropped by
        -- retention (the indicator rebuild does not rebuild years before it)
        CREATE TABLE partition_horizon (
          table_name varchar(63) NOT NULL,
          dropped_before date NOT NULL,
          CONSTRAINT pk_partition_horizon PRIMARY KEY (table_name)
        );
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE partition_horizon;
        DROP TRIGGER responses_delete_dependents ON responses;
        DROP FUNCTION responses_delete_dependents();
        ALTER TABLE responses RENAME TO responses_partitioned;
        ALTER TABLE response_items RENAME TO response_items_partitioned;
        ALTER TABLE deliveries RENAME TO deliveries_partitioned;
        ALTER TABLE responses_partitioned RENAME CONSTRAINT pk_responses TO pk_responses_p;
        ALTER TABLE response_items_partitioned RENAME CONSTRAINT pk_response_items
          TO pk_response_items_p;
        ALTER TABLE responses_partitioned RENAME CONSTRAINT
          fk_responses_questionnaire_version_questionnaire_versions TO fk_responses_p;
        ALTER TABLE deliveries_partitioned RENAME CONSTRAINT pk_deliveries TO pk_deliveries_p;
        ALTER TABLE deliveries_partitioned RENAME CONSTRAINT uq_deliveries_idempotency_key
          TO uq_deliveries_p;
        ALTER TABLE deliveries_partitioned RENAME CONSTRAINT
          fk_deliveries_invitation_id_invitations TO fk_deliveries_p;
        DROP INDEX ix_responses_organization_day, ix_responses_answered_on,
          ix_response_items_organization_day, ix_deliveries_invitation_id, ix_deliveries_due;

        CREATE TABLE responses (LIKE responses_partitioned INCLUDING DEFAULTS INCLUDING STORAGE,
          CONSTRAINT pk_responses PRIMARY KEY (id),
          CONSTRAINT fk_responses_questionnaire_version_questionnaire_versions
            FOREIGN KEY (questionnaire_version) REFERENCES questionnaire_versions (version));
        CREATE TABLE response_items (
          LIKE response_items_partitioned INCLUDING DEFAULTS INCLUDING STORAGE,
          CONSTRAINT pk_response_items PRIMARY KEY (response_id, code),
          CONSTRAINT fk_response_items_response_id_responses
            FOREIGN KEY (response_id) REFERENCES responses (id) ON DELETE CASCADE);
        CREATE TABLE deliveries (LIKE deliveries_partitioned INCLUDING DEFAULTS INCLUDING STORAGE,
          CONSTRAINT pk_deliveries PRIMARY KEY (id),
          CONSTRAINT uq_deliveries_idempotency_key UNIQUE (idempotency_key),
          CONSTRAINT fk_deliveries_invitation_id_invitations
            FOREIGN KEY (invitation_id) REFERENCES invitations (id) ON DELETE CASCADE);
        ALTER SEQUENCE deliveries_id_seq OWNED BY deliveries.id;
        INSERT INTO responses SELECT * FROM responses_partitioned;
        INSERT INTO response_items SELECT * FROM response_items_partitioned;
        INSERT INTO deliveries SELECT * FROM deliveries_partitioned;
        DROP TABLE response_items_partitioned, responses_partitioned, deliveries_partitioned;

        CREATE INDEX ix_responses_organization_day ON responses (organization_id, answered_on);
        CREATE INDEX ix_responses_answered_on ON responses (answered_on);
        CREATE INDEX ix_response_items_organization_day
          ON response_items (organization_id, answered_on);
        CREATE INDEX ix_deliveries_invitation_id ON deliveries (invitation_id);
        CREATE INDEX ix_deliveries_due ON deliveries (next_attempt_at, id)
          WHERE status = 'queued';
        ALTER TABLE response_comments ADD CONSTRAINT fk_response_comments_response_id_responses
          FOREIGN KEY (response_id) REFERENCES responses (id) ON DELETE CASCADE;
        ALTER TABLE sealed_comments ADD CONSTRAINT fk_sealed_comments_response_id_responses
          FOREIGN KEY (response_id) REFERENCES responses (id) ON DELETE CASCADE;
        ALTER TABLE exchange_queue ADD CONSTRAINT exchange_queue_response_id_fkey
          FOREIGN KEY (response_id) REFERENCES responses (id) ON DELETE CASCADE;
        ALTER TABLE exchange_items ADD CONSTRAINT fk_exchange_items_response_id_responses
          FOREIGN KEY (response_id) REFERENCES responses (id) ON DELETE CASCADE;

        CREATE TRIGGER indicator_rollup_responses_add AFTER INSERT ON responses
          REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
          EXECUTE FUNCTION indicator_rollup_responses_add();
        CREATE TRIGGER indicator_rollup_responses_sub AFTER DELETE ON responses
          REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
          EXECUTE FUNCTION indicator_rollup_responses_sub();
        CREATE TRIGGER responses_exchange_enqueue AFTER INSERT ON responses
          REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION exchange_enqueue();
        CREATE TRIGGER indicator_rollup_integral_add AFTER INSERT ON response_items
          REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
          EXECUTE FUNCTION indicator_rollup_integral_add();
        CREATE TRIGGER indicator_rollup_integral_sub AFTER DELETE ON response_items
          REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
          EXECUTE FUNCTION indicator_rollup_integral_sub();
        CREATE TRIGGER indicator_rollup_items_add AFTER INSERT ON response_items
          REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
          EXECUTE FUNCTION indicator_rollup_items_add();
        CREATE TRIGGER indicator_rollup_items_sub AFTER DELETE ON response_items
          REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
          EXECUTE FUNCTION indicator_rollup_items_sub();
        """
    )
