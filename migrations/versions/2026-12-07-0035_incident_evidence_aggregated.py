"""Incident evidence aggregated: one row per incident, kind and group (count, first/last seen,
sample references) instead of one row per drop signal

Revision ID: 20261207_0035
Revises: 20261207_0030
Create Date: 2026-12-07 00:35:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261207_0035"
down_revision: str | None = "20261207_0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "incident_evidence",
        sa.Column("count", sa.Integer(), server_default="1", nullable=False),
    )
    op.add_column(
        "incident_evidence", sa.Column("first_seen", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "incident_evidence",
        sa.Column("samples", postgresql.JSONB(), server_default="[]", nullable=False),
    )
    # existing per-signal rows become items of one signal each
    op.execute(
        "UPDATE incident_evidence SET first_seen = observed_at, samples = jsonb_build_array(ref)"
    )
    op.alter_column("incident_evidence", "first_seen", nullable=False)
    op.drop_constraint("uq_incident_evidence_kind", "incident_evidence", type_="unique")
    op.drop_index("ix_incident_evidence_incident_id", table_name="incident_evidence")
    op.create_unique_constraint(
        "uq_incident_evidence_incident_id", "incident_evidence", ["incident_id", "kind", "ref"]
    )
    op.create_index("ix_incident_evidence_kind_ref", "incident_evidence", ["kind", "ref"])


def downgrade() -> None:
    op.drop_index("ix_incident_evidence_kind_ref", table_name="incident_evidence")
    op.drop_constraint("uq_incident_evidence_incident_id", "incident_evidence", type_="unique")
    op.create_index("ix_incident_evidence_incident_id", "incident_evidence", ["incident_id"])
    # aggregated rows keep their group reference; references shared by two incidents cannot be
    # unique by (kind, ref) again, so all but the newest are dropped
    op.execute(
        "DELETE FROM incident_evidence e USING incident_evidence n"
        " WHERE e.kind = n.kind AND e.ref = n.ref AND e.id < n.id"
    )
    op.create_unique_constraint("uq_incident_evidence_kind", "incident_evidence", ["kind", "ref"])
    op.drop_column("incident_evidence", "samples")
    op.drop_column("incident_evidence", "first_seen")
    op.drop_column("incident_evidence", "count")
