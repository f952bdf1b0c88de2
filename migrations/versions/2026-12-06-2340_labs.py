"""User-testing lab studies, tasks, sessions, results and findings

Revision ID: 20261206_2340_labs
Revises: 20261206_2340_effects
Create Date: 2026-12-06 23:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261206_2340_labs"
down_revision: str | None = "20261206_2340_effects"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")


def _fk(table: str, col: str, target: str, cascade: bool = True) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [col],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{col}_{target}"),
        ondelete="CASCADE" if cascade else None,
    )


def upgrade() -> None:
    op.create_table(
        "lab_studies",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("region_code", sa.String(2), nullable=True),
        sa.Column("retest_of", sa.BigInteger(), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        _fk("lab_studies", "retest_of", "lab_studies", cascade=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lab_studies")),
    )
    op.create_index("ix_lab_studies_region_code", "lab_studies", ["region_code"])
    op.create_table(
        "lab_tasks",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("study_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        _fk("lab_tasks", "study_id", "lab_studies"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lab_tasks")),
        sa.UniqueConstraint("study_id", "position", name=op.f("uq_lab_tasks_study_id")),
    )
    op.create_table(
        "lab_sessions",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("study_id", sa.BigInteger(), nullable=False),
        sa.Column("participant", sa.String(20), nullable=False),
        sa.Column("age_band", sa.String(8), nullable=False),
        sa.Column("disability", sa.Boolean(), nullable=False),
        sa.Column("digital", sa.String(10), nullable=False),
        sa.Column("sus", postgresql.ARRAY(sa.SmallInteger()), nullable=False),
        sa.Column("sus_score", sa.Float(), nullable=False),
        sa.CheckConstraint("sus_score BETWEEN 0 AND 100", name=op.f("ck_lab_sessions_sus_score")),
        _fk("lab_sessions", "study_id", "lab_studies"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lab_sessions")),
        sa.UniqueConstraint("study_id", "participant", name=op.f("uq_lab_sessions_study_id")),
    )
    op.create_index("ix_lab_sessions_study_id", "lab_sessions", ["study_id"])
    op.create_table(
        "lab_results",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.BigInteger(), nullable=False),
        sa.Column("task_id", sa.BigInteger(), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("seq", sa.SmallInteger(), nullable=False),
        sa.CheckConstraint("seq BETWEEN 1 AND 7", name=op.f("ck_lab_results_seq")),
        _fk("lab_results", "session_id", "lab_sessions"),
        _fk("lab_results", "task_id", "lab_tasks"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lab_results")),
        sa.UniqueConstraint("session_id", "task_id", name=op.f("uq_lab_results_session_id")),
    )
    op.create_index("ix_lab_results_task_id", "lab_results", ["task_id"])
    op.create_table(
        "lab_findings",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("study_id", sa.BigInteger(), nullable=False),
        sa.Column("task_id", sa.BigInteger(), nullable=True),
        sa.Column("severity", sa.SmallInteger(), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("change_request_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.CheckConstraint("severity BETWEEN 1 AND 4", name=op.f("ck_lab_findings_severity")),
        _fk("lab_findings", "study_id", "lab_studies"),
        _fk("lab_findings", "task_id", "lab_tasks"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lab_findings")),
    )
    op.create_index("ix_lab_findings_study_id", "lab_findings", ["study_id"])


def downgrade() -> None:
    for table in ("lab_findings", "lab_results", "lab_sessions", "lab_tasks", "lab_studies"):
        op.drop_table(table)
