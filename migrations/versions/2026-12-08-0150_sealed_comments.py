"""Raw comments sealed for the masking worker (``sealed_comments``); the form no longer masks.

Revision ID: 20261208_0150
Revises: 20261208_0130
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "20261208_0150"
down_revision: str | None = "20261208_0130"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sealed_comments",
        sa.Column(
            "response_id",
            sa.Uuid(),
            sa.ForeignKey("responses.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("code", sa.String(40), primary_key=True),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("organization_id", sa.BigInteger(), nullable=False),
        sa.Column("answered_on", sa.Date(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index("ix_sealed_comments_created_at", "sealed_comments", ["created_at"])


def downgrade() -> None:
    op.drop_table("sealed_comments")
