"""Change requests: full-text search of titles (Russian stemming; GIN index)

Revision ID: 20261206_2331
Revises: 20261206_2330
Create Date: 2026-12-06 23:55:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261206_2331"
down_revision: str | None = "20261206_2330"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # pg_trgm is not in the embedded PostgreSQL, so substring search cannot use an index;
    # word search with stemming can, with the built-in text search
    op.execute(
        "CREATE INDEX ix_change_requests_title_fts ON change_requests "
        "USING gin (to_tsvector('russian', title))"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_change_requests_title_fts")
