"""Insights tables: per-comment analyses, problem signals, topic corrections, trained models."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from otklik.kit.models import Base


class CommentAnalysis(Base):
    """What one masked comment is about, its sentiment and urgent-risk flag."""

    __tablename__ = "comment_analyses"
    __table_args__ = (
        ForeignKeyConstraint(
            ["response_id", "code"],
            ["response_comments.response_id", "response_comments.code"],
            ondelete="CASCADE",
        ),
        Index("ix_comment_analyses_organization_day", "organization_id", "answered_on"),
        Index("ix_comment_analyses_urgent", "organization_id", postgresql_where="urgent"),
    )

    response_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[int] = mapped_column(BigInteger)
    answered_on: Mapped[date] = mapped_column(Date)
    topics: Mapped[list[str]] = mapped_column(ARRAY(Text))
    sentiment: Mapped[str] = mapped_column(String(8))  # negative, neutral, positive
    urgent: Mapped[bool] = mapped_column(Boolean)
    urgent_kind: Mapped[str | None] = mapped_column(String(20))
    taxonomy_version: Mapped[str] = mapped_column(String(20))
    model_version: Mapped[str] = mapped_column(String(40))
    analysed_at: Mapped[datetime] = mapped_column(server_default=func.now())


class InsightSignal(Base):
    """A finding for the later incidents issue: a problem topic or a rising topic."""

    __tablename__ = "insight_signals"
    __table_args__ = (Index("ix_insight_signals_org_period", "organization_id", "period"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(30))  # problem, rising, urgent
    organization_id: Mapped[int] = mapped_column(BigInteger)
    period: Mapped[str] = mapped_column(String(10))  # YYYY-MM
    payload: Mapped[dict[str, object]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class InsightCorrection(Base):
    """A person's correction of a comment's topics; used by the next training."""

    __tablename__ = "insight_corrections"
    __table_args__ = (
        ForeignKeyConstraint(
            ["response_id", "code"],
            ["response_comments.response_id", "response_comments.code"],
            ondelete="CASCADE",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    response_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    code: Mapped[str] = mapped_column(String(40))
    topics: Mapped[list[str]] = mapped_column(ARRAY(Text))
    previous_topics: Mapped[list[str]] = mapped_column(ARRAY(Text))
    taxonomy_version: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class InsightModel(Base):
    """A trained topic model: a pickled ``TopicModel`` with its metadata; one is active."""

    __tablename__ = "insight_models"

    version: Mapped[str] = mapped_column(String(40), primary_key=True)
    taxonomy_version: Mapped[str] = mapped_column(String(20))
    lang: Mapped[str] = mapped_column(String(2))
    n_examples: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[dict[str, object]] = mapped_column(JSONB)
    blob: Mapped[bytes] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(Boolean, server_default="false")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class UrgentReview(Base):
    """A flagged urgent comment in the triage queue: new, then reviewed (confirmed / not
    urgent) by a person; the SLA's due time; when the authority was notified. Reviews are
    labels the urgent classifier's training picks up (``otklik insights train-urgent``)."""

    __tablename__ = "urgent_reviews"
    __table_args__ = (
        ForeignKeyConstraint(
            ["response_id", "code"],
            ["response_comments.response_id", "response_comments.code"],
            ondelete="CASCADE",
        ),
        Index("ix_urgent_reviews_state_due", "state", "due_at"),
    )

    response_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(20))  # as flagged; the reviewer may correct it
    state: Mapped[str] = mapped_column(String(12), server_default="new")  # confirmed, not_urgent
    flagged_at: Mapped[datetime] = mapped_column()
    due_at: Mapped[datetime] = mapped_column()
    notified_at: Mapped[datetime | None] = mapped_column()
    reviewed_by: Mapped[int | None] = mapped_column(Integer)
    reviewed_at: Mapped[datetime | None] = mapped_column()
