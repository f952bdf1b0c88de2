"""Monthly partitions for responses and response items (issue 19, item 5)

``responses`` and ``response_items`` are partitioned by ``answered_on`` (a date): the column
the cabinets, the rollup's rebuild and the exports filter on, set once when the answer is
stored and never updated. Each table gets one partition a month from its oldest row (or this
month) to three months ahead, named ``<table>_pYYYYMM``, and a DEFAULT partition
``<table>_default`` that only catches a row of a month without a partition (a back-dated
import, a test's frozen clock): the job ``ops.maintain_partitions`` moves such rows into their
month's partition, reports them, creates the months ahead and drops the months older than
``OTKLIK_RETENTION_MONTHS`` (``otklik.ops.partitions``; docs/deployment.md, "Partitions and
retention").

Keys: a partitioned table's primary key must include the partition key, so ``pk_responses``
is (id, answered_on) and ``pk_response_items`` (response_id, code, answered_on). The foreign
keys into ``responses`` (from response_items, response_comments, sealed_comments,
exchange_queue, exchange_items) are replaced by the statement trigger
``responses_delete_dependents`` (the ON DELETE CASCADE they carried); their rows are written
in the same statement as the response or from it. The foreign key out of ``responses`` (to
questionnaire_versions) stays.

Rows are copied into the new tables inside this migration (one transaction); the rollup, the
exchange queue and the rest see no change: their triggers are created after the copy.

``service_records``, ``invitations`` and ``deliveries`` stay unpartitioned (docs/deployment.md
says why).

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
    ``otklik.ops.partitions`` does at run time."""
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


# The ``*integral`` triggers read a touched questionnaire's items by response id: with the
# day too, the read reaches one partition instead of every month's (the functions' bodies are
# otherwise unchanged; ``otklik.indicators.rollup`` spells them).
BY_ID = "WHERE i.response_id = c.response_id AND w.w > 0"
BY_ID_AND_DAY = "WHERE i.response_id = c.response_id AND i.answered_on = c.answered_on AND w.w > 0"


def _rewrite_integral(old: str, new: str) -> str:
    return f"""
    DO $$
    DECLARE f text;
    BEGIN
      FOREACH f IN ARRAY ARRAY['indicator_rollup_integral_add', 'indicator_rollup_integral_sub']
      LOOP
        EXECUTE replace(pg_get_functiondef(f::regproc), '{old}', '{new}');
      END LOOP;
    END $$;
    """


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

        CREATE TABLE responses (LIKE responses_unpartitioned INCLUDING DEFAULTS INCLUDING STORAGE,
          CONSTRAINT pk_responses PRIMARY KEY (id, answered_on),
          CONSTRAINT fk_responses_questionnaire_version_questionnaire_versions
            FOREIGN KEY (questionnaire_version) REFERENCES questionnaire_versions (version)
        ) PARTITION BY RANGE (answered_on);
        CREATE TABLE response_items (
          LIKE response_items_unpartitioned INCLUDING DEFAULTS INCLUDING STORAGE,
          CONSTRAINT pk_response_items PRIMARY KEY (response_id, code, answered_on)
        ) PARTITION BY RANGE (answered_on);
        """  # noqa: S608 - composed of constant fragments
        + _months("responses", "responses_unpartitioned", "answered_on", timestamptz=False)
        + _months("response_items", "response_items_unpartitioned", "answered_on", False)
        + """
        INSERT INTO responses SELECT * FROM responses_unpartitioned;
        INSERT INTO response_items SELECT * FROM response_items_unpartitioned;
        DROP TABLE response_items_unpartitioned, responses_unpartitioned;

        CREATE INDEX ix_responses_organization_day ON responses (organization_id, answered_on);
        CREATE INDEX ix_responses_answered_on ON responses (answered_on);
        CREATE INDEX ix_response_items_organization_day
          ON response_items (organization_id, answered_on);

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
        + _rewrite_integral(BY_ID, BY_ID_AND_DAY)
    )


def downgrade() -> None:
    op.execute(_rewrite_integral(BY_ID_AND_DAY, BY_ID))
    op.execute(
        """
        DROP TABLE partition_horizon;
        DROP TRIGGER responses_delete_dependents ON responses;
        DROP FUNCTION responses_delete_dependents();
        ALTER TABLE responses RENAME TO responses_partitioned;
        ALTER TABLE response_items RENAME TO response_items_partitioned;
        ALTER TABLE responses_partitioned RENAME CONSTRAINT pk_responses TO pk_responses_p;
        ALTER TABLE response_items_partitioned RENAME CONSTRAINT pk_response_items
          TO pk_response_items_p;
        ALTER TABLE responses_partitioned RENAME CONSTRAINT
          fk_responses_questionnaire_version_questionnaire_versions TO fk_responses_p;
        DROP INDEX ix_responses_organization_day, ix_responses_answered_on,
          ix_response_items_organization_day;

        CREATE TABLE responses (LIKE responses_partitioned INCLUDING DEFAULTS INCLUDING STORAGE,
          CONSTRAINT pk_responses PRIMARY KEY (id),
          CONSTRAINT fk_responses_questionnaire_version_questionnaire_versions
            FOREIGN KEY (questionnaire_version) REFERENCES questionnaire_versions (version));
        CREATE TABLE response_items (
          LIKE response_items_partitioned INCLUDING DEFAULTS INCLUDING STORAGE,
          CONSTRAINT pk_response_items PRIMARY KEY (response_id, code),
          CONSTRAINT fk_response_items_response_id_responses
            FOREIGN KEY (response_id) REFERENCES responses (id) ON DELETE CASCADE);
        INSERT INTO responses SELECT * FROM responses_partitioned;
        INSERT INTO response_items SELECT * FROM response_items_partitioned;
        DROP TABLE response_items_partitioned, responses_partitioned;

        CREATE INDEX ix_responses_organization_day ON responses (organization_id, answered_on);
        CREATE INDEX ix_responses_answered_on ON responses (answered_on);
        CREATE INDEX ix_response_items_organization_day
          ON response_items (organization_id, answered_on);
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
