"""МСЗУ statistics by founder (optional dimension); information measures cover chosen organizations

Revision ID: 20261207_0040
Revises: 20261206_2325
Create Date: 2026-12-07 00:40:00+00:00

Application statistics may carry the founder of the organizations that received the
applications (``founder_code``; '' = not stated). The idempotency key becomes (source, service,
region, founder, month, channel); rows stored before this revision keep founder ''.
An information measure covers either listed organizations or a filter within its region:
organization types and/or a founder (empty = every organization of the region).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261207_0040"
down_revision: str | None = "20261207_0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# month before founder: the "founder breakdown or none" check looks up (source, service, region,
# month) by the key's prefix
KEY = ["source_id", "service_code", "region_code", "month", "channel", "founder_code"]
OLD_KEY = ["source_id", "service_code", "region_code", "month", "channel"]


def upgrade() -> None:
    op.add_column(
        "service_statistics",
        sa.Column("founder_code", sa.String(60), server_default="", nullable=False),
    )
    op.drop_constraint("pk_service_statistics", "service_statistics", type_="primary")
    op.create_primary_key("pk_service_statistics", "service_statistics", KEY)
    # the rows that state a founder: the "breakdown or none" check of a row without one probes it
    op.create_index(
        "ix_service_statistics_founder_rows",
        "service_statistics",
        ["source_id", "service_code", "region_code", "month"],
        postgresql_where=sa.text("founder_code <> ''"),
    )
    op.add_column(
        "service_statistic_changes",
        sa.Column("founder_code", sa.String(60), server_default="", nullable=False),
    )
    op.add_column(
        "information_measures",
        sa.Column(
            "type_codes",
            postgresql.ARRAY(sa.String(60)),
            server_default=sa.text("'{}'::varchar[]"),
            nullable=False,
        ),
    )
    op.add_column("information_measures", sa.Column("founder_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_information_measures_founder_id_founders"),
        "information_measures",
        "founders",
        ["founder_id"],
        ["id"],
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("fk_information_measures_founder_id_founders"), "information_measures", "foreignkey"
    )
    op.drop_column("information_measures", "founder_id")
    op.drop_column("information_measures", "type_codes")
    op.drop_column("service_statistic_changes", "founder_code")
    op.drop_index("ix_service_statistics_founder_rows", table_name="service_statistics")
    # founder rows would collide on the old key: keep the rows without a founder only
    op.execute("DELETE FROM service_statistics WHERE founder_code <> ''")
    op.drop_constraint("pk_service_statistics", "service_statistics", type_="primary")
    op.create_primary_key("pk_service_statistics", "service_statistics", OLD_KEY)
    op.drop_column("service_statistics", "founder_code")
