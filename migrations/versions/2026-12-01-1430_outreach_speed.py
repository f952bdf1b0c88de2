"""Outreach speed: invitations by contact; claims in due order (next_attempt_at, id)

Revision ID: 20261201_1430
Revises: 20261201_1420
Create Date: 2026-12-01 14:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261201_1430"
down_revision: str | None = "20261201_1420"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUED = sa.text("status = 'queued'")
PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    # deleting expired contacts sets invitations.contact_id to NULL: without an index every
    # deleted contact scanned the whole invitations table
    op.create_index("ix_invitations_contact_id", "invitations", ["contact_id"])
    op.drop_index("ix_deliveries_queued", table_name="deliveries")
    op.create_index(
        "ix_deliveries_due", "deliveries", ["next_attempt_at", "id"], postgresql_where=QUEUED
    )
    op.drop_index("ix_outreach_tasks_due", table_name="outreach_tasks")
    op.create_index(
        "ix_outreach_tasks_due", "outreach_tasks", ["run_after", "id"], postgresql_where=PENDING
    )


def downgrade() -> None:
    op.drop_index("ix_outreach_tasks_due", table_name="outreach_tasks")
    op.create_index(
        "ix_outreach_tasks_due", "outreach_tasks", ["run_after"], postgresql_where=PENDING
    )
    op.drop_index("ix_deliveries_due", table_name="deliveries")
    op.create_index("ix_deliveries_queued", "deliveries", ["id"], postgresql_where=QUEUED)
    op.drop_index("ix_invitations_contact_id", table_name="invitations")
