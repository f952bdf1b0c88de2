"""The urgent triage queue: one row per flagged comment, its review state, SLA and notice.

Revision ID: 20261208_0130
Revises: 20261207_0070
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "20261208_0130"
down_revision: str | None = "20261207_0070"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "urgent_reviews",
        sa.Column("response_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("organization_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("state", sa.String(12), server_default="new", nullable=False),
        sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["response_id", "code"],
            ["response_comments.response_id", "response_comments.code"],
            name=op.f("fk_urgent_reviews_response_id_response_comments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("response_id", "code", name=op.f("pk_urgent_reviews")),
    )
    op.create_index(op.f("ix_urgent_reviews_state_due"), "urgent_reviews", ["state", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_urgent_reviews_state_due", table_name="urgent_reviews")
    op.drop_table("urgent_reviews")
