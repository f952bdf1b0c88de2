"""Best practices: adoptions of a confirmed change as linked change requests

Revision ID: 20261206_2340_practices
Revises: 20261206_2340_labs
Create Date: 2026-12-06 23:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261206_2340_practices"
down_revision: str | None = "20261206_2340_labs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "practice_adoptions",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("assessment_id", sa.BigInteger(), nullable=False),
        sa.Column("region_code", sa.String(2), nullable=True),
        sa.Column("change_request_id", sa.BigInteger(), nullable=False),
        sa.Column("adopted_by", sa.String(320), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["effect_assessments.id"],
            name=op.f("fk_practice_adoptions_assessment_id_effect_assessments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice_adoptions")),
        sa.UniqueConstraint(
            "change_request_id", name=op.f("uq_practice_adoptions_change_request_id")
        ),
    )
    op.create_index("ix_practice_adoptions_assessment_id", "practice_adoptions", ["assessment_id"])


def downgrade() -> None:
    op.drop_table("practice_adoptions")
