"""Exchange: batches to ИАС МКГУ, the answers they carry, the queue filled on every answer

Revision ID: 20261206_2355
Revises: 20261206_2350
Create Date: 2026-12-06 23:55:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261206_2355"
down_revision: str | None = "20261206_2350"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exchange_batches",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("receiver", sa.String(20), nullable=False),
        sa.Column("format_version", sa.String(30), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("answered_from", sa.Date(), nullable=False),
        sa.Column("answered_to", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(12), server_default="pending", nullable=False),
        sa.Column("attempts", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.SmallInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("receipt", postgresql.JSONB(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'retrying', 'acknowledged', 'split')",
            name=op.f("ck_exchange_batches_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_batches")),
    )
    op.create_index(
        "ix_exchange_batches_due",
        "exchange_batches",
        ["next_attempt_at"],
        postgresql_where=sa.text("status IN ('pending', 'retrying')"),
    )
    op.create_table(
        "exchange_items",
        sa.Column("response_id", sa.Uuid(), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["responses.id"],
            name=op.f("fk_exchange_items_response_id_responses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["exchange_batches.id"],
            name=op.f("fk_exchange_items_batch_id_exchange_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("response_id", name=op.f("pk_exchange_items")),
    )
    op.create_index("ix_exchange_items_batch", "exchange_items", ["batch_id"])
    # The outbox: an answer is queued in the transaction that stores it (statement-level
    # trigger, one INSERT per statement), so none is lost or forgotten.
    op.execute(
        """
        CREATE TABLE exchange_queue (
          response_id uuid PRIMARY KEY REFERENCES responses (id) ON DELETE CASCADE,
          answered_on date NOT NULL
        );
        CREATE INDEX ix_exchange_queue_answered_on ON exchange_queue (answered_on);
        INSERT INTO exchange_queue SELECT id, answered_on FROM responses;
        CREATE FUNCTION exchange_enqueue() RETURNS trigger AS $$
        BEGIN
          INSERT INTO exchange_queue (response_id, answered_on)
          SELECT id, answered_on FROM new_rows;
          RETURN NULL;
        END $$ LANGUAGE plpgsql;
        CREATE TRIGGER responses_exchange_enqueue AFTER INSERT ON responses
          REFERENCING NEW TABLE AS new_rows
          FOR EACH STATEMENT EXECUTE FUNCTION exchange_enqueue();
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER responses_exchange_enqueue ON responses")
    op.execute("DROP FUNCTION exchange_enqueue()")
    op.execute("DROP TABLE exchange_queue")
    op.drop_table("exchange_items")
    op.drop_table("exchange_batches")
