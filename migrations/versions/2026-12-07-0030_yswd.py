"""«Вы сказали — мы сделали»: organizations' own entries reviewed by their authority

Revision ID: 20261207_0030
Revises: 20261206_2325
Create Date: 2026-12-07 00:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261207_0030"
down_revision: str | None = "20261207_0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "yswd_entries",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("organization_id", sa.BigInteger(), nullable=False),
        sa.Column("topic", sa.String(60), nullable=False),
        sa.Column("said", sa.Text(), nullable=False),
        sa.Column("done", sa.Text(), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=False),
        sa.Column("state", sa.String(10), server_default="review", nullable=False),
        sa.Column("return_reason", sa.Text(), server_default="", nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("reviewed_by", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "state IN ('review', 'approved', 'returned')", name="ck_yswd_entries_state"
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"], name="fk_yswd_entries_organization_id"
        ),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name="fk_yswd_entries_created_by"),
        sa.ForeignKeyConstraint(["reviewed_by"], ["users.id"], name="fk_yswd_entries_reviewed_by"),
        sa.PrimaryKeyConstraint("id", name="pk_yswd_entries"),
    )
    op.create_index("ix_yswd_entries_org_state", "yswd_entries", ["organization_id", "state"])


def downgrade() -> None:
    op.drop_table("yswd_entries")
