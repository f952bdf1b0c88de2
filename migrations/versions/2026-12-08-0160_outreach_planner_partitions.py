"""Planners partitioned by person key: each outreach task carries its key's partition

Several planners run at once, each holding the advisory lock of the person-key partitions it
plans (16: the high four bits of the key's first byte, ``repository.PLANNER_PARTS``) instead
of one global planner lock. The queue's trigger now records the partition (the body is spelled in
``otklik.outreach.repository.ENQUEUE_BODY``; this migration keeps a frozen copy).

Revision ID: 20261208_0160
Revises: 20261208_0150
Create Date: 2026-12-08 01:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261208_0160"
down_revision: str | None = "20261208_0150"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE outreach_tasks ADD COLUMN person_part smallint NOT NULL DEFAULT 0;
        UPDATE outreach_tasks t SET person_part = get_byte(r.person_key, 0) >> 4
          FROM service_records r
          WHERE r.id = t.service_record_id AND t.status = 'pending'
            AND octet_length(r.person_key) > 0;
        CREATE OR REPLACE FUNCTION outreach_enqueue_tasks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO outreach_tasks (service_record_id, run_after, person_part)
  SELECT id, received_at, get_byte(person_key, 0) >> 4 FROM new_records
  WHERE channel <> 'history';
  RETURN NULL;
END $$;
        CREATE INDEX ix_outreach_tasks_part_due ON outreach_tasks (person_part, run_after, id)
          WHERE status = 'pending';
        """
    )


def downgrade() -> None:
    op.execute(
        """
        CREATE OR REPLACE FUNCTION outreach_enqueue_tasks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO outreach_tasks (service_record_id, run_after)
  SELECT id, received_at FROM new_records WHERE channel <> 'history';
  RETURN NULL;
END $$;
        DROP INDEX ix_outreach_tasks_part_due;
        ALTER TABLE outreach_tasks DROP COLUMN person_part;
        """
    )
