"""Reports: quarterly reports per scope with their status, progress and file

Revision ID: 20261207_0050
Revises: 20261206_2325
Create Date: 2026-12-07 00:50:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261207_0050"
down_revision: str | None = "20261207_0040"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("unit_kind", sa.String(20), nullable=False),
        sa.Column("unit_key", sa.String(64), nullable=False),
        sa.Column("unit_name", sa.Text(), nullable=False),
        sa.Column("region_code", sa.String(8), nullable=True),
        sa.Column("founder_id", sa.BigInteger(), nullable=True),
        sa.Column("organization_id", sa.BigInteger(), nullable=True),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("format", sa.String(4), nullable=False),
        sa.Column("origin", sa.String(10), nullable=False),
        sa.Column("requested_by", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(8), server_default="queued", nullable=False),
        sa.Column("progress", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("stage", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("methodology", sa.String(20), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed')", name=op.f("ck_reports_status")
        ),
        sa.CheckConstraint("format IN ('pdf', 'xlsx')", name=op.f("ck_reports_format")),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name=op.f("ck_reports_progress")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
    )
    op.create_index(
        "ix_reports_queue",
        "reports",
        ["created_at"],
        postgresql_where=sa.text("status = 'queued'"),
    )
    op.create_index(
        "uq_reports_schedule",
        "reports",
        ["unit_kind", "unit_key", "period", "format"],
        unique=True,
        postgresql_where=sa.text("origin = 'schedule'"),
    )
    op.create_index("ix_reports_region_code", "reports", ["region_code"])
    op.create_index("ix_reports_founder_id", "reports", ["founder_id"])
    op.create_index("ix_reports_organization_id", "reports", ["organization_id"])


def downgrade() -> None:
    op.drop_table("reports")
