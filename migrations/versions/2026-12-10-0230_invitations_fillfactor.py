"""Room on invitations' pages for their updates (issue 19, item 2: delivery).

An invitation is updated two to four times in its life (sent, delivered, opened, completed),
always on columns no index covers. With free space on its page such an update is HOT: no new
entry in any of the table's six indexes. The delivery batch's one statement updates a
thousand invitations at a time; with full pages (the default fillfactor 100) each of them
wrote six index entries. Only pages written from now on keep the room; existing pages gain
it when rewritten (VACUUM FULL, pg_repack) — nothing needs to be rewritten now.

Revision ID: 20261210_0230
Revises: 20261210_0210
"""

from __future__ import annotations

from alembic import op

revision: str = "20261210_0230"
down_revision: str | None = "20261210_0210"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE invitations SET (fillfactor = 70)")


def downgrade() -> None:
    op.execute("ALTER TABLE invitations RESET (fillfactor)")
