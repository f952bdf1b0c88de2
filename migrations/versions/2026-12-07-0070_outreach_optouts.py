"""Opt-outs from invitations (the e-mail's List-Unsubscribe link): one row per person key.

Revision ID: 20261207_0070
Revises: 20261206_2325
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "20261207_0070"
down_revision: str | None = "20261207_0060"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outreach_optouts",
        sa.Column("person_key", sa.LargeBinary(), primary_key=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )


def downgrade() -> None:
    op.drop_table("outreach_optouts")
