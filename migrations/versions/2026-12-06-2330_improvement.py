"""Improvement (decree 923): passports, change requests, timeline, attachments, checks, meetings

Revision ID: 20261206_2330
Revises: 20261201_1450
Create Date: 2026-12-06 22:55:12.712291+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261206_2330"
down_revision: str | None = "20261201_1450"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "change_requests",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("subject_kind", sa.String(length=20), nullable=False),
        sa.Column("subject_code", sa.String(length=100), nullable=False),
        sa.Column("region_code", sa.String(length=2), nullable=True),
        sa.Column("organization_id", sa.BigInteger(), nullable=True),
        sa.Column("founder_id", sa.Integer(), nullable=True),
        sa.Column("owner_user_id", sa.Integer(), nullable=True),
        sa.Column("owner_label", sa.String(length=300), server_default="", nullable=False),
        sa.Column(
            "change", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("hyp_indicator", sa.String(length=60), nullable=True),
        sa.Column("hyp_unit", sa.String(length=40), nullable=True),
        sa.Column("hyp_from", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("hyp_to", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("hyp_by", sa.Date(), nullable=True),
        sa.Column("planned_release", sa.Date(), nullable=True),
        sa.Column("state", sa.String(length=30), server_default="draft", nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(state = 'closed') = (outcome IS NOT NULL)",
            name=op.f("ck_change_requests_outcome_when_closed"),
        ),
        sa.CheckConstraint(
            "state IN ('draft', 'submitted', 'expertise', 'wg_review', 'subcommission_decision', 'approved', 'rejected', 'returned', 'implementation', 'control_check', 'released', 'effect_assessment', 'closed')",
            name=op.f("ck_change_requests_state"),
        ),
        sa.CheckConstraint(
            "subject_kind IN ('service', 'life_situation')",
            name=op.f("ck_change_requests_subject_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_change_requests_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["founder_id"], ["founders.id"], name=op.f("fk_change_requests_founder_id_founders")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_change_requests_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"], ["users.id"], name=op.f("fk_change_requests_owner_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_change_requests_region_code_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_requests")),
    )
    op.create_index("ix_change_requests_founder", "change_requests", ["founder_id"], unique=False)
    op.create_index(
        "ix_change_requests_organization", "change_requests", ["organization_id"], unique=False
    )
    op.create_index("ix_change_requests_region", "change_requests", ["region_code"], unique=False)
    op.create_index(
        "ix_change_requests_updated", "change_requests", ["updated_at", "id"], unique=False
    )
    op.create_index(
        "ix_change_requests_state_updated", "change_requests", ["state", "updated_at"], unique=False
    )
    op.create_index(
        "ix_change_requests_subject",
        "change_requests",
        ["subject_kind", "subject_code"],
        unique=False,
    )
    op.create_table(
        "improvement_attachments",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("entity", sa.String(length=30), nullable=False),
        sa.Column("entity_id", sa.BigInteger(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by"], ["users.id"], name=op.f("fk_improvement_attachments_uploaded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_improvement_attachments")),
    )
    op.create_index(
        "ix_improvement_attachments_entity",
        "improvement_attachments",
        ["entity", "entity_id"],
        unique=False,
    )
    op.create_table(
        "improvement_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("entity", sa.String(length=30), nullable=False),
        sa.Column("entity_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("from_state", sa.String(length=30), nullable=True),
        sa.Column("to_state", sa.String(length=30), nullable=True),
        sa.Column("comment", sa.Text(), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_user_id"], ["users.id"], name=op.f("fk_improvement_events_actor_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_improvement_events")),
    )
    op.create_index(
        "ix_improvement_events_entity",
        "improvement_events",
        ["entity", "entity_id", "id"],
        unique=False,
    )
    op.create_table(
        "meetings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("body", sa.String(length=20), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("protocol_number", sa.String(length=40), nullable=True),
        sa.Column("protocol_date", sa.Date(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("body IN ('wg', 'subcommission')", name=op.f("ck_meetings_body")),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_meetings_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
    )
    op.create_table(
        "passports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject_kind", sa.String(length=20), nullable=False),
        sa.Column("subject_code", sa.String(length=100), nullable=False),
        sa.Column("region_code", sa.String(length=2), nullable=True),
        sa.Column("doc", sa.String(length=10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("base_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="draft", nullable=False),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("return_reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "doc IN ('current', 'target', 'standard')", name=op.f("ck_passports_doc")
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'expertise', 'digital_agreed', 'wg_approved', 'approved', 'in_force', 'superseded')",
            name=op.f("ck_passports_status"),
        ),
        sa.CheckConstraint(
            "subject_kind IN ('service', 'life_situation')", name=op.f("ck_passports_subject_kind")
        ),
        sa.ForeignKeyConstraint(
            ["base_id"], ["passports.id"], name=op.f("fk_passports_base_id_passports")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_passports_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_passports_region_code_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_passports")),
    )
    op.create_index(
        "uq_passports_version",
        "passports",
        [
            "subject_kind",
            "subject_code",
            sa.literal_column("coalesce(region_code, '')"),
            "doc",
            "version",
        ],
        unique=True,
    )
    # An approved passport is immutable (its content never changes; it may only come into force
    # and be superseded); a passport in the workflow changes its content only back in draft.
    op.execute(
        """
        CREATE FUNCTION passports_immutable() RETURNS trigger AS $$
        BEGIN
          IF TG_OP = 'DELETE' THEN
            IF OLD.status <> 'draft' THEN
              RAISE EXCEPTION 'passport % is % and cannot be deleted', OLD.id, OLD.status
                USING ERRCODE = 'check_violation';
            END IF;
            RETURN OLD;
          END IF;
          IF OLD.status IN ('approved', 'in_force', 'superseded') AND NOT (
               (OLD.status, NEW.status) IN (('approved', 'in_force'), ('in_force', 'superseded'),
                                            ('approved', 'superseded'))) THEN
            RAISE EXCEPTION 'approved passport % is immutable', OLD.id
              USING ERRCODE = 'check_violation';
          END IF;
          IF OLD.status <> 'draft' AND (
               NEW.body IS DISTINCT FROM OLD.body OR NEW.subject_kind <> OLD.subject_kind
               OR NEW.subject_code <> OLD.subject_code OR NEW.doc <> OLD.doc
               OR NEW.version <> OLD.version
               OR NEW.region_code IS DISTINCT FROM OLD.region_code
               OR NEW.base_id IS DISTINCT FROM OLD.base_id) THEN
            RAISE EXCEPTION 'passport % is % and its content cannot change', OLD.id, OLD.status
              USING ERRCODE = 'check_violation';
          END IF;
          RETURN NEW;
        END $$ LANGUAGE plpgsql;
        CREATE TRIGGER passports_immutable BEFORE UPDATE OR DELETE ON passports
          FOR EACH ROW EXECUTE FUNCTION passports_immutable();
        """
    )
    op.create_table(
        "change_request_evidence",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("change_request_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=False),
        sa.Column(
            "snapshot", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["change_request_id"],
            ["change_requests.id"],
            name=op.f("fk_change_request_evidence_change_request_id_change_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_request_evidence")),
    )
    op.create_index(
        op.f("ix_change_request_evidence_change_request_id"),
        "change_request_evidence",
        ["change_request_id"],
        unique=False,
    )
    op.create_table(
        "control_check_items",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("change_request_id", sa.BigInteger(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("goal", sa.String(length=200), nullable=False),
        sa.Column("result", sa.String(length=4), nullable=True),
        sa.Column("evidence", sa.Text(), server_default="", nullable=False),
        sa.Column("checked_by", sa.Integer(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "result IS NULL OR result IN ('pass', 'fail')",
            name=op.f("ck_control_check_items_result"),
        ),
        sa.ForeignKeyConstraint(
            ["change_request_id"],
            ["change_requests.id"],
            name=op.f("fk_control_check_items_change_request_id_change_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["checked_by"], ["users.id"], name=op.f("fk_control_check_items_checked_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_control_check_items")),
    )
    op.create_index(
        "ix_control_check_items_request",
        "control_check_items",
        ["change_request_id", "round"],
        unique=False,
    )
    op.create_table(
        "meeting_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=30), nullable=False),
        sa.Column("entity_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=True),
        sa.Column("comment", sa.Text(), server_default="", nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "decision IS NULL OR decision IN ('approved', 'rejected', 'returned')",
            name=op.f("ck_meeting_items_decision"),
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_items_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_items")),
    )
    op.create_index(
        "ix_meeting_items_entity", "meeting_items", ["entity", "entity_id"], unique=False
    )

    op.create_table(
        "improvement_notifications",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=300), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.String(length=200), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_improvement_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_improvement_notifications")),
    )
    op.create_index(
        "ix_improvement_notifications_pending",
        "improvement_notifications",
        ["id"],
        unique=False,
        postgresql_where=sa.text("sent_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("improvement_notifications")
    op.execute("DROP TRIGGER IF EXISTS passports_immutable ON passports")
    op.execute("DROP FUNCTION IF EXISTS passports_immutable()")
    op.drop_index("ix_meeting_items_entity", table_name="meeting_items")
    op.drop_table("meeting_items")
    op.drop_index("ix_control_check_items_request", table_name="control_check_items")
    op.drop_table("control_check_items")
    op.drop_index(
        op.f("ix_change_request_evidence_change_request_id"), table_name="change_request_evidence"
    )
    op.drop_table("change_request_evidence")
    op.drop_index("uq_passports_version", table_name="passports")
    op.drop_table("passports")
    op.drop_table("meetings")
    op.drop_index("ix_improvement_events_entity", table_name="improvement_events")
    op.drop_table("improvement_events")
    op.drop_index("ix_improvement_attachments_entity", table_name="improvement_attachments")
    op.drop_table("improvement_attachments")
    op.drop_index("ix_change_requests_subject", table_name="change_requests")
    op.drop_index("ix_change_requests_state_updated", table_name="change_requests")
    op.drop_index("ix_change_requests_region", table_name="change_requests")
    op.drop_index("ix_change_requests_organization", table_name="change_requests")
    op.drop_index("ix_change_requests_founder", table_name="change_requests")
    op.drop_table("change_requests")
