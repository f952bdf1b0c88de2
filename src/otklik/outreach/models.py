"""Outreach: the work queue filled by intake, invitations, their deliveries and the log outbox."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Sequence,
    SmallInteger,
    String,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from otklik.kit.models import Base

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class OutreachTask(Base):
    """A pending task: one per accepted service record, created with it. The planner decides
    invite or skip, deletes the task and writes the decision to ``outreach_outcomes`` (in the
    same statement), so this table holds the queue only."""

    __tablename__ = "outreach_tasks"
    __table_args__ = (
        Index(
            "ix_outreach_tasks_due",
            "run_after",
            "id",
            postgresql_where=text("status = 'pending'"),
        ),
        # a planner claims the due tasks of the person-key partition it holds
        Index(
            "ix_outreach_tasks_part_due",
            "person_part",
            "run_after",
            "id",
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    service_record_id: Mapped[int] = mapped_column(
        ForeignKey("service_record_keys.id", ondelete="CASCADE"), unique=True
    )
    # always 'pending' since migration 0320 (kept: the partial indexes' predicates name it)
    status: Mapped[str] = mapped_column(String(12), server_default="pending")
    reason: Mapped[str | None] = mapped_column(String(30))  # unused since migration 0320
    run_after: Mapped[datetime] = mapped_column(server_default=func.now())
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    planned_at: Mapped[datetime | None]
    # the partition of the record's person key (0–15, repository.PLANNER_PARTS)
    person_part: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    # the record's organization, minor flag and service, copied by the queue's trigger
    # (migration 0340; never changed after intake): the planner reads no service record
    organization_id: Mapped[int] = mapped_column(BigInteger)
    is_minor: Mapped[bool] = mapped_column(Boolean)
    service_code: Mapped[str] = mapped_column(String(100))


class OutreachOutcome(Base):
    """What the planner decided for a record: ``planned`` (someone was invited) or ``skipped``
    with the reason. Written by the statement that deletes the record's task; no foreign key:
    the trigger ``service_record_keys_deleted`` deletes it with the record's key row."""

    __tablename__ = "outreach_outcomes"

    service_record_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    status: Mapped[str] = mapped_column(String(12))  # planned, skipped
    reason: Mapped[str | None] = mapped_column(String(30))  # why skipped
    planned_at: Mapped[datetime]


class Invitation(Base):
    """A personal link for one person about one service record; only the token's hash is kept.

    The token is derived from ``public_id`` with the secret key, so a resend or a reminder
    carries the same link and a crash cannot orphan a link that was already sent.
    """

    __tablename__ = "invitations"
    # Partitioned by month of ``created_at`` (migration 0250): the database's primary key is
    # (id, created_at); id, token_hash and public_id are unique in ``invitation_keys``, written
    # by the same statement. Each partition has fillfactor 70: its updates (sent, delivered,
    # opened, completed) touch no indexed column and stay on the page (HOT).
    __table_args__ = (
        Index("ix_invitations_person_created", "person_key", "created_at"),
        Index("ix_invitations_contact_id", "contact_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    public_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    service_record_id: Mapped[int] = mapped_column(BigInteger, index=True)
    # contacts.id, checked per statement (migration 0320): the planner locks the contacts it
    # invites, and the trigger ``contacts_forget_invitations`` clears it when the contact goes
    contact_id: Mapped[int | None] = mapped_column(BigInteger)
    person_key: Mapped[bytes] = mapped_column(LargeBinary)
    organization_id: Mapped[int] = mapped_column(BigInteger)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary)
    # the questionnaire version current when the invitation was made (pinned)
    questionnaire_version: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), server_default="queued")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    opened_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    reminder_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]


class InvitationKey(Base):
    """An invitation's id (from the sequence), its globally unique token hash and public id,
    its record and ``created_at`` (the invitation's partition), unpartitioned: every lookup by
    token, public id or id finds the one partition through it."""

    __tablename__ = "invitation_keys"

    id: Mapped[int] = mapped_column(BigInteger, Sequence("invitations_id_seq"), primary_key=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    public_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    # service_record_keys.id, checked per statement (migration 0320): the planner holds the
    # record's task, and the trigger ``service_record_keys_deleted`` refuses to delete a key
    # still named here
    service_record_id: Mapped[int] = mapped_column(BigInteger, index=True)
    created_at: Mapped[datetime]


class Delivery(Base):
    """One message (invitation or reminder) on one channel; claimed with SKIP LOCKED.

    Partitioned by month of ``created_at`` (migration ``2026-12-11-0260_delivery_partitions``):
    a row is found by ``(id, created_at)``. The idempotency key is made by the database with
    the row (``delivery_key(now())``) and encodes ``created_at`` (``key_time``), so it is
    unique and a status callback reaches one partition."""

    __tablename__ = "deliveries"
    __table_args__ = (
        # due messages are claimed in this order: LIMIT stops the scan early (per partition)
        Index(
            "ix_deliveries_due",
            "next_attempt_at",
            "id",
            postgresql_where=text("status = 'queued'"),
        ),
        {"postgresql_partition_by": "RANGE (created_at)"},
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    # no foreign key: invitations is partitioned; the statement trigger
    # ``invitations_delete_deliveries`` deletes an invitation's deliveries with it
    invitation_id: Mapped[int] = mapped_column(BigInteger, index=True)
    kind: Mapped[str] = mapped_column(String(10))  # invite, reminder
    channel: Mapped[str] = mapped_column(String(10))
    idempotency_key: Mapped[uuid.UUID] = mapped_column(
        Uuid, server_default=text("delivery_key(now())")
    )
    status: Mapped[str] = mapped_column(String(12), server_default="queued")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(primary_key=True, server_default=func.now())
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(200))


def key_time(key: uuid.UUID) -> datetime | None:
    """The ``created_at`` a delivery's idempotency key encodes (``delivery_key``: a UUIDv7
    layout with the microseconds of the millisecond in the next 12 bits); None for a key of
    another version (made before the partitioning)."""
    if key.version != 7:
        return None
    ms, micro = key.int >> 80, (key.int >> 64) & 0xFFF
    return EPOCH + timedelta(microseconds=ms * 1000 + micro)


class OutboxMessage(Base):
    """Messages of the ``log`` channel (development and demo): what would have been sent."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)
    idempotency_key: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    recipient: Mapped[str] = mapped_column(String(100))  # masked
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(300))


class OptOut(Base):
    """A person who asked for no more invitations (the e-mail's opt-out link): the planner
    skips them (reason ``opted_out``) and their queued messages are cancelled."""

    __tablename__ = "outreach_optouts"

    person_key: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
