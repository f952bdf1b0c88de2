"""Planning writes less per invitation (issue 19, item 3, helper plan20).

- ``outreach_outcomes``: a decided task's outcome (planned, or skipped with its reason), one
  narrow row per record with one index; the planner deletes the task from ``outreach_tasks``,
  which becomes the queue of pending tasks only. Before, each decided task was updated in place:
  a new version of the row with entries in two indexes (the status is in the partial indexes'
  predicates, so the update was never HOT), and the table kept every task ever made, so the
  planner's hash joins read all of it. The decided tasks move here.
- The foreign keys ``invitations.contact_id → contacts`` (ON DELETE SET NULL) and
  ``invitation_keys.service_record_id → service_record_keys`` are checked per statement instead
  of per row: the planner locks the contacts it invites (``FOR KEY SHARE``, the lock the
  foreign key's check took row by row) and holds its tasks (whose keys cascade from the
  record's key row), and statement-level triggers with transition tables do what the keys'
  actions did: a deleted contact's invitations lose ``contact_id``; a record key still named
  by an invitation key cannot be deleted (``foreign_key_violation``), and a deleted record
  key takes its outreach outcome with it. The triggers look the deleted ids up by index (an
  array of them), so a planner's delete of a few skipped records' contacts costs index probes,
  not a read of every invitation.

Revision ID: 20261212_0320
Revises: 20261212_0300
"""

from __future__ import annotations

from alembic import op

revision: str = "20261212_0320"
down_revision: str | None = "20261212_0300"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE outreach_outcomes (
          service_record_id bigint NOT NULL,
          status varchar(12) NOT NULL,
          reason varchar(30),
          planned_at timestamptz NOT NULL,
          CONSTRAINT pk_outreach_outcomes PRIMARY KEY (service_record_id)
        );
        INSERT INTO outreach_outcomes (service_record_id, status, reason, planned_at)
        SELECT service_record_id, status, reason, coalesce(planned_at, created_at)
        FROM outreach_tasks WHERE status <> 'pending';
        DELETE FROM outreach_tasks WHERE status <> 'pending';

        ALTER TABLE invitations DROP CONSTRAINT fk_invitations_contact_id_contacts;
        CREATE FUNCTION contacts_forget_invitations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- an array, probed in the index of each month: joined with the transition table (whose
  -- size PostgreSQL does not know) the update read every invitation to find none
  UPDATE invitations SET contact_id = NULL WHERE contact_id = ANY (ARRAY(SELECT id FROM gone));
  RETURN NULL;
END $$;
        CREATE TRIGGER contacts_forget_invitations AFTER DELETE ON contacts
          REFERENCING OLD TABLE AS gone FOR EACH STATEMENT
          EXECUTE FUNCTION contacts_forget_invitations();

        ALTER TABLE invitation_keys
          DROP CONSTRAINT fk_invitation_keys_service_record_id_service_record_keys;
        CREATE FUNCTION service_record_keys_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT FROM invitation_keys
             WHERE service_record_id = ANY (ARRAY(SELECT id FROM gone))) THEN
    RAISE EXCEPTION 'a deleted service record key is still named by an invitation'
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  DELETE FROM outreach_outcomes WHERE service_record_id = ANY (ARRAY(SELECT id FROM gone));
  RETURN NULL;
END $$;
        CREATE TRIGGER service_record_keys_deleted AFTER DELETE ON service_record_keys
          REFERENCING OLD TABLE AS gone FOR EACH STATEMENT
          EXECUTE FUNCTION service_record_keys_deleted();
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TRIGGER service_record_keys_deleted ON service_record_keys;
        DROP FUNCTION service_record_keys_deleted();
        ALTER TABLE invitation_keys
          ADD CONSTRAINT fk_invitation_keys_service_record_id_service_record_keys
          FOREIGN KEY (service_record_id) REFERENCES service_record_keys (id);
        DROP TRIGGER contacts_forget_invitations ON contacts;
        DROP FUNCTION contacts_forget_invitations();
        UPDATE invitations i SET contact_id = NULL
        WHERE contact_id IS NOT NULL
          AND NOT EXISTS (SELECT FROM contacts c WHERE c.id = i.contact_id);
        ALTER TABLE invitations ADD CONSTRAINT fk_invitations_contact_id_contacts
          FOREIGN KEY (contact_id) REFERENCES contacts (id) ON DELETE SET NULL;
        INSERT INTO outreach_tasks (service_record_id, status, reason, planned_at, person_part)
        SELECT o.service_record_id, o.status, o.reason, o.planned_at,
          get_byte(r.person_key, 0) >> 4
        FROM outreach_outcomes o
        JOIN service_record_keys k ON k.id = o.service_record_id
        JOIN service_records r ON r.id = k.id AND r.received_at = k.received_at;
        DROP TABLE outreach_outcomes;
        """
    )
