"""Incident tables: the incident, its evidence (aggregated signals) and its timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from otklik.kit.models import Base

OPEN_STATES = ("new", "acknowledged", "in_progress", "waiting", "escalated")


class Incident(Base):
    """A situation lowering the quality of a service that needs rapid response.

    ``cause_key`` names the cause (where + what); at most one incident per cause is open at a
    time (a partial unique index), so later signals of the same cause join it as evidence.
    """

    __tablename__ = "incidents"
    __table_args__ = (
        CheckConstraint("severity BETWEEN 1 AND 4", name="severity"),
        CheckConstraint(
            "state IN ('new', 'acknowledged', 'in_progress', 'waiting', 'escalated',"
            " 'resolved', 'closed')",
            name="state",
        ),
        Index(
            "uq_incidents_open_cause",
            "cause_key",
            unique=True,
            postgresql_where=text(
                "state IN ('new', 'acknowledged', 'in_progress', 'waiting', 'escalated')"
            ),
        ),
        Index("ix_incidents_cause_key", "cause_key", "id"),
        Index("ix_incidents_state_severity", "state", "severity"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(10))  # signal, manual
    cause_key: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200))  # e.g. indicator:overall, topic:waiting
    organization_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    region_code: Mapped[str | None] = mapped_column(String(2), index=True)
    founder_id: Mapped[int | None] = mapped_column(Integer)
    severity: Mapped[int] = mapped_column(SmallInteger)
    severity_rule: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(12), server_default="new")
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime] = mapped_column(server_default=func.now())
    ack_due: Mapped[datetime]
    resolve_due: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    paused_at: Mapped[datetime | None]
    ack_warned: Mapped[bool] = mapped_column(Boolean, server_default="false")
    resolve_warned: Mapped[bool] = mapped_column(Boolean, server_default="false")
    ack_breached: Mapped[bool] = mapped_column(Boolean, server_default="false")
    resolve_breached: Mapped[bool] = mapped_column(Boolean, server_default="false")
    signal_count: Mapped[int] = mapped_column(Integer, server_default="0")
    last_signal_at: Mapped[datetime | None]
    reopened: Mapped[int] = mapped_column(Integer, server_default="0")
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    review: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    change_request_id: Mapped[int | None] = mapped_column(BigInteger)

    @property
    def breached(self) -> bool:
        return self.ack_breached or self.resolve_breached


class IncidentEvidence(Base):
    """Signals behind an incident, aggregated: one row per incident, kind and group ``ref``.

    EWMA drop signals (the high-volume source) are grouped per organization, item and Moscow
    day (``ref`` = ``signals:org:<id>:<item>:<day>``) with their ``count``, first and last time
    seen and the references of the latest few signals (``samples``); every other kind keeps one
    row per signal (``ref`` = the signal's reference, ``count`` 1), so a signal is staged only
    once (the job's anti-join by ``(kind, ref)``; drop signals by the id cursor).
    """

    __tablename__ = "incident_evidence"
    __table_args__ = (
        UniqueConstraint("incident_id", "kind", "ref"),
        Index("ix_incident_evidence_kind_ref", "kind", "ref"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    ref: Mapped[str] = mapped_column(String(200))
    count: Mapped[int] = mapped_column(Integer, server_default="1")
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)  # of the latest signal
    first_seen: Mapped[datetime]
    observed_at: Mapped[datetime]  # the latest signal's time
    samples: Mapped[list[str]] = mapped_column(JSONB, server_default="[]")
    added_at: Mapped[datetime] = mapped_column(server_default=func.now())


class IncidentEvent(Base):
    """The timeline: every event of an incident, who did it and when."""

    __tablename__ = "incident_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(server_default=func.now())
    kind: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(200))
    from_state: Mapped[str | None] = mapped_column(String(12))
    to_state: Mapped[str | None] = mapped_column(String(12))
    comment: Mapped[str] = mapped_column(Text, server_default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")


class IncidentCursor(Base):
    """How far the job has read an append-only signal table (by id)."""

    __tablename__ = "incident_cursors"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, server_default="0")
