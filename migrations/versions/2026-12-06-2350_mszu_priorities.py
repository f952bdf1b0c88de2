"""МСЗУ list, application statistics, trajectory; priority criteria; information measures

Revision ID: 20261206_2350
Revises: 20261206_2340_practices
Create Date: 2026-12-06 23:50:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261206_2350"
down_revision: str | None = "20261206_2340_practices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "mszu_list_versions",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.Column("agreed_by", sa.String(200)),
        sa.Column("agreed_at", TZ),
        sa.Column("approved_by", sa.String(200)),
        sa.Column("approved_at", TZ),
        sa.Column("protocol_number", sa.String(60)),
        sa.Column("decision_date", sa.Date()),
        sa.Column("returned_reason", sa.Text()),
        sa.CheckConstraint(
            "status IN ('draft', 'agreed', 'approved', 'superseded')",
            name=op.f("ck_mszu_list_versions_status"),
        ),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_mszu_list_versions")),
    )
    # at most one open (draft or agreed) version at a time
    op.create_index(
        "uq_mszu_list_versions_open",
        "mszu_list_versions",
        [sa.text("(status IN ('draft', 'agreed'))")],
        unique=True,
        postgresql_where=sa.text("status IN ('draft', 'agreed')"),
    )
    op.create_table(
        "mszu_list_items",
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("service_code", sa.String(100), nullable=False),
        sa.Column("mode", sa.String(12), nullable=False),
        sa.CheckConstraint(
            "mode IN ('electronic', 'proactive', 'on_request')",
            name=op.f("ck_mszu_list_items_mode"),
        ),
        sa.ForeignKeyConstraint(
            ["version_number"],
            ["mszu_list_versions.number"],
            name=op.f("fk_mszu_list_items_version_number_mszu_list_versions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_code"],
            ["services.code"],
            name=op.f("fk_mszu_list_items_service_code_services"),
        ),
        sa.PrimaryKeyConstraint("version_number", "service_code", name=op.f("pk_mszu_list_items")),
    )
    op.create_table(
        "service_statistics",
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("service_code", sa.String(100), nullable=False),
        sa.Column("region_code", sa.String(2), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("applications", sa.BigInteger(), nullable=False),
        sa.Column("received_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "applications >= 0", name=op.f("ck_service_statistics_applications_non_negative")
        ),
        sa.CheckConstraint(
            "channel IN ('portal', 'proactive', 'in_person', 'other')",
            name=op.f("ck_service_statistics_channel"),
        ),
        sa.CheckConstraint(
            "extract(day FROM month) = 1", name=op.f("ck_service_statistics_month_first_day")
        ),
        sa.PrimaryKeyConstraint(
            "source_id",
            "service_code",
            "region_code",
            "month",
            "channel",
            name=op.f("pk_service_statistics"),
        ),
    )
    op.create_index("ix_service_statistics_month", "service_statistics", ["month"])
    op.create_table(
        "service_statistic_changes",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("service_code", sa.String(100), nullable=False),
        sa.Column("region_code", sa.String(2), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("old_applications", sa.BigInteger(), nullable=False),
        sa.Column("new_applications", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_statistic_changes")),
    )
    op.create_index(
        op.f("ix_service_statistic_changes_source_id"), "service_statistic_changes", ["source_id"]
    )
    op.create_table(
        "service_statistic_closures",
        sa.Column("quarter_start", sa.Date(), nullable=False),
        sa.Column("closed_by", sa.String(200), nullable=False),
        sa.Column("closed_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("quarter_start", name=op.f("pk_service_statistic_closures")),
    )
    op.create_table(
        "mszu_trajectory",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("uploaded_by", sa.String(200), nullable=False),
        sa.Column("uploaded_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "target >= 0 AND target <= 1", name=op.f("ck_mszu_trajectory_target_share")
        ),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_mszu_trajectory")),
    )
    op.create_table(
        "priority_criteria_versions",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("weights", postgresql.JSONB(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_priority_criteria_versions")),
    )
    op.create_table(
        "information_measures",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("region_code", sa.String(2), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("channels", postgresql.ARRAY(sa.String(20)), nullable=False),
        sa.Column("organization_ids", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("ended_on >= started_on", name=op.f("ck_information_measures_dates")),
        sa.ForeignKeyConstraint(
            ["region_code"],
            ["regions.code"],
            name=op.f("fk_information_measures_region_code_regions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_information_measures")),
    )
    op.create_index(
        op.f("ix_information_measures_region_code"), "information_measures", ["region_code"]
    )


def downgrade() -> None:
    for table in (
        "information_measures",
        "priority_criteria_versions",
        "mszu_trajectory",
        "service_statistic_closures",
        "service_statistic_changes",
        "service_statistics",
        "mszu_list_items",
        "mszu_list_versions",
    ):
        op.drop_table(table)
