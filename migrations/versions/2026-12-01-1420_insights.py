"""Insights: comment analyses, signals, topic corrections, trained models

Revision ID: 20261201_1420
Revises: 20261201_1400
Create Date: 2026-12-01 14:20:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261201_1420"
down_revision: str | None = "20261201_1400"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")


def _comment_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["response_id", "code"],
        ["response_comments.response_id", "response_comments.code"],
        name=op.f(f"fk_{table}_response_id_response_comments"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "comment_analyses",
        sa.Column("response_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("organization_id", sa.BigInteger(), nullable=False),
        sa.Column("answered_on", sa.Date(), nullable=False),
        sa.Column("topics", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("sentiment", sa.String(length=8), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("urgent_kind", sa.String(length=20), nullable=True),
        sa.Column("taxonomy_version", sa.String(length=20), nullable=False),
        sa.Column("model_version", sa.String(length=40), nullable=False),
        sa.Column("analysed_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        _comment_fk("comment_analyses"),
        sa.PrimaryKeyConstraint("response_id", "code", name=op.f("pk_comment_analyses")),
    )
    op.create_index(
        "ix_comment_analyses_organization_day",
        "comment_analyses",
        ["organization_id", "answered_on"],
    )
    op.create_index(
        "ix_comment_analyses_urgent",
        "comment_analyses",
        ["organization_id"],
        postgresql_where=sa.text("urgent"),
    )
    op.create_table(
        "insight_signals",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("organization_id", sa.BigInteger(), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insight_signals")),
    )
    op.create_index(
        "ix_insight_signals_org_period", "insight_signals", ["organization_id", "period"]
    )
    op.create_table(
        "insight_corrections",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("response_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("topics", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("previous_topics", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("taxonomy_version", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        _comment_fk("insight_corrections"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insight_corrections")),
    )
    op.create_table(
        "insight_models",
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("taxonomy_version", sa.String(length=20), nullable=False),
        sa.Column("lang", sa.String(length=2), nullable=False),
        sa.Column("n_examples", sa.Integer(), nullable=False),
        sa.Column("metrics", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_insight_models")),
    )


def downgrade() -> None:
    op.drop_table("insight_models")
    op.drop_table("insight_corrections")
    op.drop_index("ix_insight_signals_org_period", table_name="insight_signals")
    op.drop_table("insight_signals")
    op.drop_index("ix_comment_analyses_urgent", table_name="comment_analyses")
    op.drop_index("ix_comment_analyses_organization_day", table_name="comment_analyses")
    op.drop_table("comment_analyses")
