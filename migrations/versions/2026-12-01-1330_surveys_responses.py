"""Surveys: questionnaire versions, anonymous responses, their items and comments

Revision ID: 20261201_1330
Revises: 20261122_1425
Create Date: 2026-12-01 13:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261201_1330"
down_revision: str | None = "20261122_1425"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "questionnaire_versions",
        sa.Column("version", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("definition", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="draft", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_questionnaire_versions")),
    )
    # A published version is immutable: old answers must stay reproducible.
    op.execute(
        """
        CREATE FUNCTION questionnaire_versions_immutable() RETURNS trigger AS $$
        BEGIN
          IF OLD.status = 'published' THEN
            RAISE EXCEPTION 'published questionnaire version % is immutable', OLD.version
              USING ERRCODE = 'check_violation';
          END IF;
          RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
        END $$ LANGUAGE plpgsql;
        CREATE TRIGGER questionnaire_versions_immutable
          BEFORE UPDATE OR DELETE ON questionnaire_versions
          FOR EACH ROW EXECUTE FUNCTION questionnaire_versions_immutable();
        """
    )
    op.create_table(
        "responses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("questionnaire_version", sa.String(length=20), nullable=False),
        sa.Column("organization_id", sa.BigInteger(), nullable=False),
        sa.Column("organization_type_code", sa.String(length=60), nullable=False),
        sa.Column("region_code", sa.String(length=2), nullable=False),
        sa.Column("founder_id", sa.Integer(), nullable=False),
        sa.Column("service_code", sa.String(length=100), nullable=False),
        sa.Column("life_situation_code", sa.String(length=100), nullable=True),
        sa.Column("served_on", sa.Date(), nullable=False),
        sa.Column("answered_on", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("respondent", sa.String(length=14), nullable=False),
        sa.Column("age_band", sa.String(length=8), nullable=False),
        sa.Column("answers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["questionnaire_version"],
            ["questionnaire_versions.version"],
            name=op.f("fk_responses_questionnaire_version_questionnaire_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_responses")),
    )
    op.create_index(
        "ix_responses_organization_day", "responses", ["organization_id", "answered_on"]
    )
    op.create_index("ix_responses_answered_on", "responses", ["answered_on"])
    for table, value in (
        ("response_items", sa.Column("value", sa.SmallInteger(), nullable=False)),
        ("response_comments", sa.Column("text", sa.Text(), nullable=False)),
    ):
        op.create_table(
            table,
            sa.Column("response_id", sa.Uuid(), nullable=False),
            sa.Column("code", sa.String(length=40), nullable=False),
            value,
            sa.Column("organization_id", sa.BigInteger(), nullable=False),
            sa.Column("answered_on", sa.Date(), nullable=False),
            sa.ForeignKeyConstraint(
                ["response_id"],
                ["responses.id"],
                name=op.f(f"fk_{table}_response_id_responses"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("response_id", "code", name=op.f(f"pk_{table}")),
        )
        op.create_index(f"ix_{table}_organization_day", table, ["organization_id", "answered_on"])
    op.add_column(
        "invitations", sa.Column("questionnaire_version", sa.String(length=20), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("invitations", "questionnaire_version")
    op.drop_table("response_comments")
    op.drop_table("response_items")
    op.drop_table("responses")
    op.execute("DROP TABLE questionnaire_versions")
    op.execute("DROP FUNCTION questionnaire_versions_immutable()")
