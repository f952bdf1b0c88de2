"""Open data: the files of published quarters, built once and stored

Revision ID: 20261207_0060
Revises: 20261206_2325
Create Date: 2026-12-07 (slot 0060)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261207_0060"
down_revision: str | None = "20261207_0050"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "opendata_files",
        sa.Column("id", sa.Integer(), sa.Identity(), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("dataset", sa.String(20), nullable=False),
        sa.Column("methodology_version", sa.String(20), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("builds", sa.Integer(), server_default="1", nullable=False),
        sa.Column("build_ms", sa.Integer(), nullable=False),
        sa.Column(
            "built_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opendata_files")),
        sa.UniqueConstraint(
            "period",
            "dataset",
            "methodology_version",
            name=op.f("uq_opendata_files_period_dataset_methodology_version"),
        ),
    )
    op.create_table(
        "opendata_file_rows",
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.Text(), nullable=True),
        sa.Column("type_code", sa.Text(), nullable=True),
        sa.Column("founder_code", sa.Text(), nullable=True),
        sa.Column("csv", sa.LargeBinary(), nullable=False),
        sa.Column("json", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["opendata_files.id"],
            name=op.f("fk_opendata_file_rows_file_id_opendata_files"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("file_id", "seq", name=op.f("pk_opendata_file_rows")),
    )


def downgrade() -> None:
    op.drop_table("opendata_file_rows")
    op.drop_table("opendata_files")
