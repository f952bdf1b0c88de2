"""Incidents: incidents, their evidence, timeline and the job's cursor

Revision ID: 20261206_2340
Revises: 20261206_2330
Create Date: 2026-12-06 23:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261206_2340"
down_revision: str | None = "20261206_2330"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")
OPEN = "state IN ('new', 'acknowledged', 'in_progress', 'waiting', 'escalated')"


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("cause_key", sa.String(200), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("organization_id", sa.BigInteger(), nullable=True),
        sa.Column("region_code", sa.String(2), nullable=True),
        sa.Column("founder_id", sa.Integer(), nullable=True),
        sa.Column("severity", sa.SmallInteger(), nullable=False),
        sa.Column("severity_rule", sa.String(200), nullable=False),
        sa.Column("state", sa.String(12), server_default="new", nullable=False),
        sa.Column("owner_user_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("ack_due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolve_due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ack_warned", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("resolve_warned", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("ack_breached", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("resolve_breached", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("signal_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_signal_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reopened", sa.Integer(), server_default="0", nullable=False),
        sa.Column("decision", postgresql.JSONB(), nullable=True),
        sa.Column("review", postgresql.JSONB(), nullable=True),
        sa.Column("change_request_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("severity BETWEEN 1 AND 4", name=op.f("ck_incidents_severity")),
        sa.CheckConstraint(
            "state IN ('new', 'acknowledged', 'in_progress', 'waiting', 'escalated',"
            " 'resolved', 'closed')",
            name=op.f("ck_incidents_state"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"], ["users.id"], name=op.f("fk_incidents_owner_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_index(
        "uq_incidents_open_cause",
        "incidents",
        ["cause_key"],
        unique=True,
        postgresql_where=sa.text(OPEN),
    )
    op.create_index("ix_incidents_cause_key", "incidents", ["cause_key", "id"])
    op.create_index("ix_incidents_state_severity", "incidents", ["state", "severity"])
    op.create_index("ix_incidents_organization_id", "incidents", ["organization_id"])
    op.create_index("ix_incidents_region_code", "incidents", ["region_code"])
    op.create_table(
        "incident_evidence",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("ref", sa.String(200), nullable=False),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_evidence_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_evidence")),
        sa.UniqueConstraint("kind", "ref", name=op.f("uq_incident_evidence_kind")),
    )
    op.create_index("ix_incident_evidence_incident_id", "incident_evidence", ["incident_id"])
    op.create_table(
        "incident_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("from_state", sa.String(12), nullable=True),
        sa.Column("to_state", sa.String(12), nullable=True),
        sa.Column("comment", sa.Text(), server_default="", nullable=False),
        sa.Column("data", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_events_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_events")),
    )
    op.create_index("ix_incident_events_incident_id", "incident_events", ["incident_id"])
    op.create_table(
        "incident_cursors",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("position", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_incident_cursors")),
    )


def downgrade() -> None:
    op.drop_table("incident_cursors")
    op.drop_table("incident_events")
    op.drop_table("incident_evidence")
    op.drop_table("incidents")
