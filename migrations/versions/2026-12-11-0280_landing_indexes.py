"""Indexes for the authorities' landing (issue 19, item 4).

* ``indicator_summary (organization_id, grain, day)``: a region's or a founder's months are
  read from the summary through a few index ranges (one per organization) instead of a scan of
  every organization's month rows (its primary key leads with the grain and the day);
* ``responses (organization_id, served_on)``: the coverage numerator (questionnaires about
  services provided in a period, whenever answered) of a region's or a founder's organizations
  was a sequential scan of every response; one more index entry per questionnaire.

Revision ID: 20261211_0280
Revises: 20261211_0270
"""

from __future__ import annotations

from alembic import op

revision: str = "20261211_0280"
down_revision: str | None = "20261211_0270"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_indicator_summary_organization",
        "indicator_summary",
        ["organization_id", "grain", "day"],
    )
    op.create_index(
        "ix_responses_organization_served", "responses", ["organization_id", "served_on"]
    )


def downgrade() -> None:
    op.drop_index("ix_responses_organization_served", table_name="responses")
    op.drop_index("ix_indicator_summary_organization", table_name="indicator_summary")
