"""Incidents API shapes (JSON)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from otklik.incidents.models import Incident, IncidentEvent, IncidentEvidence


class SlaOut(BaseModel):
    ack_due: datetime
    resolve_due: datetime
    breached: bool
    warned: bool
    paused: bool


class EvidenceOut(BaseModel):
    """An evidence item: signals of one kind aggregated per incident and group.

    Drop signals are grouped per organization, item and Moscow day (``ref`` =
    ``signals:org:<id>:<item>:<day>``); any other signal is an item of its own (``ref`` = the
    signal's reference, ``count`` 1).
    """

    kind: str
    ref: str
    count: int = Field(ge=1, description="signals in this item")
    first_seen: datetime
    observed_at: datetime = Field(description="the latest signal's time")
    payload: dict[str, Any] = Field(description="the latest signal's details")
    samples: list[str] = Field(description="references of the latest few signals, newest first")


class EventOut(BaseModel):
    at: datetime
    kind: str
    actor: str
    from_state: str | None
    to_state: str | None
    comment: str


class IncidentOut(BaseModel):
    id: int
    title: str
    state: str
    severity: int = Field(ge=1, le=4)
    severity_rule: str
    source: Literal["signal", "manual"]
    subject: str
    organization_id: int | None
    region_code: str | None
    owner_user_id: int | None
    opened_at: datetime
    signal_count: int
    reopened: int
    sla: SlaOut
    evidence: list[EvidenceOut]
    decision: dict[str, Any] | None
    review: dict[str, Any] | None
    change_request_id: int | None
    timeline: list[EventOut] | None = None

    @classmethod
    def of(
        cls,
        i: Incident,
        evidence: list[IncidentEvidence],
        timeline: list[IncidentEvent] | None = None,
    ) -> IncidentOut:
        return cls(
            id=i.id,
            title=i.title,
            state=i.state,
            severity=i.severity,
            severity_rule=i.severity_rule,
            source=i.source,
            subject=i.subject,
            organization_id=i.organization_id,
            region_code=i.region_code,
            owner_user_id=i.owner_user_id,
            opened_at=i.opened_at,
            signal_count=i.signal_count,
            reopened=i.reopened,
            sla=SlaOut(
                ack_due=i.ack_due,
                resolve_due=i.resolve_due,
                breached=i.breached,
                warned=i.ack_warned or i.resolve_warned,
                paused=i.paused_at is not None,
            ),
            evidence=[
                EvidenceOut(
                    kind=e.kind,
                    ref=e.ref,
                    count=e.count,
                    first_seen=e.first_seen,
                    observed_at=e.observed_at,
                    payload=e.payload,
                    samples=e.samples,
                )
                for e in evidence
            ],
            decision=i.decision,
            review=i.review,
            change_request_id=i.change_request_id,
            timeline=None
            if timeline is None
            else [
                EventOut(
                    at=e.at,
                    kind=e.kind,
                    actor=e.actor,
                    from_state=e.from_state,
                    to_state=e.to_state,
                    comment=e.comment,
                )
                for e in timeline
            ],
        )


class IncidentList(BaseModel):
    items: list[IncidentOut]
    total: int
    page: int
    per_page: int


class IncidentIn(BaseModel):
    title: str = Field(min_length=5, max_length=300)
    subject: str = Field(
        max_length=120, description="вид:код, например service:health.outpatient_visit"
    )
    severity: int = Field(ge=1, le=4)
    organization_id: int | None = None
    region_code: str | None = Field(default=None, pattern=r"^[0-9]{2}$")
    description: str = Field(default="", max_length=2000)


class TransitionIn(BaseModel):
    action: str = Field(
        max_length=20,
        description="acknowledge, start, wait, resume, escalate, resolve, reopen, close",
    )
    comment: str = Field(default="", max_length=2000)


class DecisionIn(BaseModel):
    meeting_date: date
    protocol: str = Field(max_length=50)
    decision: str = Field(max_length=4000)


class ReviewIn(BaseModel):
    cause: str = Field(max_length=4000)
    actions: str = Field(max_length=4000)
    change_needed: bool


class OwnerIn(BaseModel):
    email: str = Field(max_length=320)
