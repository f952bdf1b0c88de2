"""Decree 923 tables: passports of subjects, change requests, their timeline, evidence,
attachments, control checks, and the meetings of bodies (WG, subcommission) with decisions."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

import otklik.identity.models
import otklik.registry.models  # noqa: F401 - the tables our foreign keys point at
from otklik.kit.models import Base

SUBJECT_KINDS = ("service", "life_situation")


class Passport(Base):
    """One version of one document of a subject: current state, target state or optimized
    standard. ``region_code`` NULL is the typical (national) passport; a regional passport
    derives from it (``base_id``). A database trigger keeps an approved version immutable."""

    __tablename__ = "passports"
    __table_args__ = (
        CheckConstraint("subject_kind IN ('service', 'life_situation')", name="subject_kind"),
        CheckConstraint("doc IN ('current', 'target', 'standard')", name="doc"),
        CheckConstraint(
            "status IN ('draft', 'expertise', 'digital_agreed', 'wg_approved', "
            "'approved', 'in_force', 'superseded')",
            name="status",
        ),
        Index(
            "uq_passports_version",
            "subject_kind",
            "subject_code",
            text("coalesce(region_code, '')"),
            "doc",
            "version",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_kind: Mapped[str] = mapped_column(String(20))
    subject_code: Mapped[str] = mapped_column(String(100))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    doc: Mapped[str] = mapped_column(String(10))
    version: Mapped[int] = mapped_column(Integer)
    base_id: Mapped[int | None] = mapped_column(ForeignKey("passports.id"))
    status: Mapped[str] = mapped_column(String(20), server_default="draft")
    body: Mapped[dict[str, Any]] = mapped_column(JSONB)
    return_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    approved_at: Mapped[datetime | None]


CR_STATES = (
    "draft",
    "submitted",
    "expertise",
    "wg_review",
    "subcommission_decision",
    "approved",
    "rejected",
    "returned",
    "implementation",
    "control_check",
    "released",
    "effect_assessment",
    "closed",
)
CR_OUTCOMES = ("confirmed", "not_confirmed", "inconclusive")


class ChangeRequest(Base):
    """A managed change of one subject. Located in the country by region / organization /
    founder (NULL = national) so the one scope filter applies; ``version`` guards concurrent
    transitions (the row is also locked ``FOR UPDATE``)."""

    __tablename__ = "change_requests"
    __table_args__ = (
        CheckConstraint("subject_kind IN ('service', 'life_situation')", name="subject_kind"),
        CheckConstraint("state IN (" + ", ".join(f"'{s}'" for s in CR_STATES) + ")", name="state"),
        CheckConstraint("(state = 'closed') = (outcome IS NOT NULL)", name="outcome_when_closed"),
        Index("ix_change_requests_updated", "updated_at", "id"),
        Index("ix_change_requests_state_updated", "state", "updated_at"),
        Index("ix_change_requests_region", "region_code"),
        Index("ix_change_requests_organization", "organization_id"),
        Index("ix_change_requests_founder", "founder_id"),
        Index("ix_change_requests_subject", "subject_kind", "subject_code"),
        Index(
            "ix_change_requests_title_fts",
            text("to_tsvector('russian', title)"),
            postgresql_using="gin",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(300))
    problem: Mapped[str] = mapped_column(Text)
    subject_kind: Mapped[str] = mapped_column(String(20))
    subject_code: Mapped[str] = mapped_column(String(100))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    founder_id: Mapped[int | None] = mapped_column(ForeignKey("founders.id"))
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    owner_label: Mapped[str] = mapped_column(String(300), server_default="")
    change: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    hyp_indicator: Mapped[str | None] = mapped_column(String(60))
    hyp_unit: Mapped[str | None] = mapped_column(String(40))
    hyp_from: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    hyp_to: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    hyp_by: Mapped[date | None] = mapped_column(Date)
    planned_release: Mapped[date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(30), server_default="draft")
    outcome: Mapped[str | None] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ChangeRequestEvidence(Base):
    """A source linked as evidence, with a snapshot of its figures at the time of linking."""

    __tablename__ = "change_request_evidence"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    change_request_id: Mapped[int] = mapped_column(
        ForeignKey("change_requests.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(30))
    ref: Mapped[str] = mapped_column(String(200))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")


class ImprovementEvent(Base):
    """The timeline of a change request, passport or meeting: every transition and comment."""

    __tablename__ = "improvement_events"
    __table_args__ = (Index("ix_improvement_events_entity", "entity", "entity_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(server_default=func.now())
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_label: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str | None] = mapped_column(String(30))
    comment: Mapped[str] = mapped_column(Text, server_default="")


class Attachment(Base):
    """A file attached to a change request or a meeting protocol; stored in PostgreSQL."""

    __tablename__ = "improvement_attachments"
    __table_args__ = (Index("ix_improvement_attachments_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[int] = mapped_column(BigInteger)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ControlCheckItem(Base):
    """One line of a control check: a goal of the target state, pass / fail with evidence."""

    __tablename__ = "control_check_items"
    __table_args__ = (
        CheckConstraint("result IS NULL OR result IN ('pass', 'fail')", name="result"),
        Index("ix_control_check_items_request", "change_request_id", "round"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    change_request_id: Mapped[int] = mapped_column(
        ForeignKey("change_requests.id", ondelete="CASCADE")
    )
    round: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    goal: Mapped[str] = mapped_column(String(200))
    result: Mapped[str | None] = mapped_column(String(4))
    evidence: Mapped[str] = mapped_column(Text, server_default="")
    checked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checked_at: Mapped[datetime | None]


class Meeting(Base):
    """A meeting of a body (``wg`` or ``subcommission``) with its agenda and protocol."""

    __tablename__ = "meetings"
    __table_args__ = (CheckConstraint("body IN ('wg', 'subcommission')", name="body"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    body: Mapped[str] = mapped_column(String(20))
    held_on: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(300))
    protocol_number: Mapped[str | None] = mapped_column(String(40))
    protocol_date: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class MeetingItem(Base):
    """An agenda item (change request, passport, later roadmap) and the decision on it."""

    __tablename__ = "meeting_items"
    __table_args__ = (
        CheckConstraint(
            "decision IS NULL OR decision IN ('approved', 'rejected', 'returned')",
            name="decision",
        ),
        Index("ix_meeting_items_entity", "entity", "entity_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    entity: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[int] = mapped_column(BigInteger)
    title: Mapped[str] = mapped_column(String(300))
    decision: Mapped[str | None] = mapped_column(String(10))
    comment: Mapped[str] = mapped_column(Text, server_default="")
    decided_at: Mapped[datetime | None]


class Notification(Base):
    """An e-mail to whoever must act next, written in the transition's own transaction and sent
    by the ``improvement-notify`` job (the address is read from ``users`` at sending time)."""

    __tablename__ = "improvement_notifications"
    __table_args__ = (
        Index(
            "ix_improvement_notifications_pending", "id", postgresql_where=text("sent_at IS NULL")
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    error: Mapped[str] = mapped_column(String(200), server_default="")
