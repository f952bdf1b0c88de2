"""Effect assessments of released changes

Revision ID: 20261206_2340_effects
Revises: 20261206_2340
Create Date: 2026-12-06 23:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261206_2340_effects"
down_revision: str | None = "20261206_2340"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "effect_assessments",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("change_request_id", sa.BigInteger(), nullable=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("indicator", sa.String(40), nullable=False),
        sa.Column("direction", sa.SmallInteger(), nullable=False),
        sa.Column("released_on", sa.Date(), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("organization_ids", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("region_code", sa.String(2), nullable=True),
        sa.Column("founder_id", sa.Integer(), nullable=True),
        sa.Column("organization_id", sa.BigInteger(), nullable=True),
        sa.Column("method", sa.String(20), nullable=True),
        sa.Column("estimate", sa.Float(), nullable=True),
        sa.Column("ci_low", sa.Float(), nullable=True),
        sa.Column("ci_high", sa.Float(), nullable=True),
        sa.Column("n_treated", sa.Integer(), server_default="0", nullable=False),
        sa.Column("n_control", sa.Integer(), server_default="0", nullable=False),
        sa.Column("answers_treated", sa.Integer(), server_default="0", nullable=False),
        sa.Column("answers_control", sa.Integer(), server_default="0", nullable=False),
        sa.Column("pretrend_estimate", sa.Float(), nullable=True),
        sa.Column("pretrend_p", sa.Float(), nullable=True),
        sa.Column("verdict", sa.String(16), server_default="pending", nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("caveat", sa.Text(), server_default="", nullable=False),
        sa.Column("data_date", sa.Date(), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_effect_assessments")),
        sa.UniqueConstraint(
            "change_request_id", name=op.f("uq_effect_assessments_change_request_id")
        ),
    )
    op.create_index("ix_effect_assessments_region_code", "effect_assessments", ["region_code"])


def downgrade() -> None:
    op.drop_table("effect_assessments")
