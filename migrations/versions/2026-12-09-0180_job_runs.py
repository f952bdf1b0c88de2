"""The periodic jobs' shared schedule and the history of their runs (issue 19, item 5).

``job_schedule``: one row per job with the moment it is next due; a worker starts a job only
after moving ``next_due`` on in one statement, so any number of workers on any number of hosts
start a job at most once per its interval. ``job_runs``: started, finished, duration, count
done, failure (class and a detail without data) and the worker (host:pid) of each run; every
run of a job with an interval of a minute or more, only the busy or failed runs of the
second-by-second sweeps; older than 30 days deleted by the job ``jobs.prune_history``.

Revision ID: 20261209_0180
Revises: 20261208_0170
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "20261209_0180"
down_revision: str | None = "20261208_0170"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_schedule",
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("next_due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_worker", sa.String(120), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_schedule")),
    )
    op.create_table(
        "job_runs",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("job", sa.String(80), nullable=False),
        sa.Column("worker", sa.String(120), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Boolean(), nullable=False),
        sa.Column("error", sa.String(120), nullable=True),
        sa.Column("error_detail", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
    )
    op.create_index("ix_job_runs_started_at", "job_runs", ["started_at"])
    op.create_index("ix_job_runs_job_started_at", "job_runs", ["job", "started_at"])
    op.create_index(
        "ix_job_runs_failed_started_at",
        "job_runs",
        ["started_at"],
        postgresql_where=sa.text("failed"),
    )


def downgrade() -> None:
    op.drop_table("job_runs")
    op.drop_table("job_schedule")
