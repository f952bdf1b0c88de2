"""Merge heads: change-request search (i12), roadmaps (i12r), incidents/effects/labs/practices (i13), МСЗУ/priorities (i14)

Only on branch i14, which merged the other two to compute participants' indicators from their
tables; the lead may drop this file when re-chaining the heads on main.

Revision ID: 20261206_2350_merge
Revises: 20261206_2331, 20261206_2335, 20261206_2340_practices, 20261206_2350
Create Date: 2026-12-06 23:50:00+00:00
"""

from collections.abc import Sequence

revision: str = "20261206_2350_merge"
down_revision: str | Sequence[str] | None = (
    "20261206_2331",
    "20261206_2335",
    "20261206_2340_practices",
    "20261206_2350",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
