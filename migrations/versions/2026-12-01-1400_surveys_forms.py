"""Surveys: drafts of the respondent form; the default questionnaire 2025.1 published

Revision ID: 20261201_1400
Revises: 20261201_1330
Create Date: 2026-12-01 14:00:00+00:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from otklik.surveys.definitions import default_definition

revision: str = "20261201_1400"
down_revision: str | None = "20261201_1330"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "survey_drafts",
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.Column("questionnaire_version", sa.String(length=20), nullable=False),
        sa.Column("answers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_survey_drafts")),
    )
    op.create_index("ix_survey_drafts_expires_at", "survey_drafts", ["expires_at"])
    # Every database has the default questionnaire published (the file never changes).
    d = default_definition()
    op.get_bind().execute(
        sa.text(
            "INSERT INTO questionnaire_versions (version, title, definition, status, published_at)"
            " VALUES (:v, :t, CAST(:d AS jsonb), 'published', now())"
            " ON CONFLICT (version) DO NOTHING"
        ),
        {"v": d.version, "t": d.title, "d": json.dumps(d.model_dump(mode="json"))},
    )


def downgrade() -> None:
    # The published 2025.1 stays: the trigger refuses to delete it, and 20261201_1330's
    # downgrade drops the whole table.
    op.drop_index("ix_survey_drafts_expires_at", table_name="survey_drafts")
    op.drop_table("survey_drafts")
