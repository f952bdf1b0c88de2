"""When each run's period began, beside when it started: the late start (issue 19, item 5).

``job_runs.scheduled_at``: the start of the period the worker claimed (``job_schedule`` moves on
along a grid of whole intervals, so a period begins at a known moment); ``started_at`` minus it
is how late the run began, shown on ``/admin/jobs``. Empty for runs recorded before. Adding a
nullable column without a default rewrites nothing.

Revision ID: 20261211_0290
Revises: 20261211_0280
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "20261211_0290"
down_revision: str | None = "20261211_0280"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("job_runs", sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("job_runs", "scheduled_at")
