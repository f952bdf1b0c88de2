"""Questionnaire versions and anonymous responses.

A response never holds SNILS, names, contacts, the person key, the token or the invitation:
the invitation -> response link is one-way (the token's hash finds the invitation; nothing
leads back). Its key is random and its dates are days, so neither order nor time joins it to
an invitation. ``response_items`` and ``response_comments`` repeat the organization and the
day so indicators and text analysis group them without a join.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from otklik.kit.models import Base


class QuestionnaireVersion(Base):
    """A questionnaire as data; a published version is immutable (a trigger refuses changes)."""

    __tablename__ = "questionnaire_versions"

    version: Mapped[str] = mapped_column(String(20), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    definition: Mapped[dict[str, object]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(10), server_default="draft")  # draft, published
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    published_at: Mapped[datetime | None]


class Response(Base):
    """One completed questionnaire, about one service record, without identity.

    Partitioned by month of ``answered_on`` (migration 0190, ``otklik.ops.partitions``): the
    database's primary key is (id, answered_on), and the tables below that name a response
    have no foreign key into it (a statement trigger deletes their rows with it)."""

    __tablename__ = "responses"
    __table_args__ = (
        Index("ix_responses_organization_day", "organization_id", "answered_on"),
        Index("ix_responses_answered_on", "answered_on"),
        # coverage's numerator: answers by the day of the service (migration 0280)
        Index("ix_responses_organization_served", "organization_id", "served_on"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    questionnaire_version: Mapped[str] = mapped_column(ForeignKey("questionnaire_versions.version"))
    organization_id: Mapped[int] = mapped_column(BigInteger)
    organization_type_code: Mapped[str] = mapped_column(String(60))
    region_code: Mapped[str] = mapped_column(String(2))
    founder_id: Mapped[int] = mapped_column(Integer)
    service_code: Mapped[str] = mapped_column(String(100))
    life_situation_code: Mapped[str | None] = mapped_column(String(100))
    served_on: Mapped[date] = mapped_column(Date)
    answered_on: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(10))  # portal, email, sms, log
    respondent: Mapped[str] = mapped_column(String(14))  # recipient, representative
    age_band: Mapped[str] = mapped_column(String(8))
    answers: Mapped[dict[str, object]] = mapped_column(JSONB)  # every answer by code, masked
    # the questionnaire's own integral (weighted mean of its integral items, weights of the
    # default methodology version; NULL without one): written with it, kept by the fold
    # (``indicators.rollup.FOLD``), read by the full recompute (migration 0330)
    integral: Mapped[float | None] = mapped_column(Float)


class ResponseItem(Base):
    """A numeric answer: 1-5 for ratings, 1 yes / 0 no for yes-no items; "not used" and
    "prefer not to say" are absent."""

    __tablename__ = "response_items"
    __table_args__ = (
        Index("ix_response_items_organization_day", "organization_id", "answered_on"),
    )

    response_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(SmallInteger)
    organization_id: Mapped[int] = mapped_column(BigInteger)
    answered_on: Mapped[date] = mapped_column(Date)


class ResponseComment(Base):
    """A free-text answer, stored only after personal data is masked and markup stripped."""

    __tablename__ = "response_comments"
    __table_args__ = (
        Index("ix_response_comments_organization_day", "organization_id", "answered_on"),
    )

    response_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    organization_id: Mapped[int] = mapped_column(BigInteger)
    answered_on: Mapped[date] = mapped_column(Date)


class SealedComment(Base):
    """A raw free-text answer waiting for the masking worker, sealed with its public key
    (``otklik.kit.pii.seal_box``): web processes write it and cannot read it back. The worker
    opens, masks and moves it to ``response_comments`` and deletes this row in one
    transaction; until then no page, export or API has the comment."""

    __tablename__ = "sealed_comments"

    response_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    organization_id: Mapped[int] = mapped_column(BigInteger)
    answered_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)


class SurveyDraft(Base):
    """A partial answer, kept against the link, not the person.

    ``key`` is a keyed hash of the link's token (HMAC with the secret key, a different value
    from ``invitations.token_hash``), so a draft cannot be joined to an invitation without the
    token itself. Free text is masked like a response; drafts go when the record is answered
    and when the link expires.
    """

    __tablename__ = "survey_drafts"

    key: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    questionnaire_version: Mapped[str] = mapped_column(String(20))
    answers: Mapped[dict[str, object]] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(index=True)
