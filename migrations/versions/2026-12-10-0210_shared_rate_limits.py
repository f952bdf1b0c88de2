"""Rate limits shared by every web process, and the stream messages whose rejection is counted
(issue 19, item 5).

``rate_buckets`` (UNLOGGED: a crash empties it, which only refills every bucket): one token
bucket per limiter and key, the key an HMAC of the limiter's name and the client's address,
link or source (never in clear). Each web process reports what it spent and learns the
balance in one statement for all its keys (``otklik.kit.ratelimit``); ``full_at`` is when the
bucket is full again, after which the row means nothing and ``kit.sweep_rate_buckets``
deletes it.

``intake_stream_rejections``: the JetStream messages (stream sequence and the time the stream
stored them) whose rejection has been counted, so a message redelivered after a crash, or to a
second consumer, is not counted twice; kept for the stream's retention (7 days) and a day more.

Revision ID: 20261210_0210
Revises: 20261210_0190
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "20261210_0210"
down_revision: str | None = "20261210_0190"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE UNLOGGED TABLE rate_buckets (
            key bytea NOT NULL,
            tokens double precision NOT NULL,
            capacity double precision NOT NULL,
            rate double precision NOT NULL,
            at timestamptz NOT NULL,
            full_at timestamptz NOT NULL,
            CONSTRAINT pk_rate_buckets PRIMARY KEY (key)
        ) WITH (fillfactor = 70)
        """
    )
    op.create_table(
        "intake_stream_rejections",
        sa.Column("stream_seq", sa.BigInteger(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "stream_seq", "stored_at", name=op.f("pk_intake_stream_rejections")
        ),
    )
    op.create_index(
        "ix_intake_stream_rejections_stored_at", "intake_stream_rejections", ["stored_at"]
    )


def downgrade() -> None:
    op.drop_table("intake_stream_rejections")
    op.drop_table("rate_buckets")
