"""Outreach queues its own tasks: a statement-level trigger on service_records

Intake inserted the ``outreach_tasks`` rows in its own submission statement, writing a table
outreach owns. Now outreach's trigger does it in the same statement (the body is spelled in
``otklik.outreach.repository.ENQUEUE_BODY``; this migration keeps a frozen copy).

Revision ID: 20261207_0010
Revises: 20261206_2325
Create Date: 2026-12-07 00:10:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261207_0010"
down_revision: str | None = "20261206_2325"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION outreach_enqueue_tasks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO outreach_tasks (service_record_id, run_after)
  SELECT id, received_at FROM new_records WHERE channel <> 'history';
  RETURN NULL;
END $$;
        CREATE TRIGGER service_records_outreach_enqueue AFTER INSERT ON service_records
          REFERENCING NEW TABLE AS new_records
          FOR EACH STATEMENT EXECUTE FUNCTION outreach_enqueue_tasks();
        """
    )


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER service_records_outreach_enqueue ON service_records;"
        " DROP FUNCTION outreach_enqueue_tasks();"
    )
