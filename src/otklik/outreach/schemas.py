"""Shapes of the outreach API."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class FunnelRowOut(BaseModel):
    key: str
    label: str
    reported: int = Field(description="записей об услугах")
    pending: int = Field(description="ещё не рассмотрено")
    eligible: int = Field(description="кого решено пригласить")
    skipped: dict[str, int] = Field(description="не приглашены, по причинам")
    invited: int = Field(description="приглашение отправлено")
    failed: int = Field(description="не удалось доставить ни по одному каналу")
    delivered: int
    opened: int
    started: int
    completed: int


class FunnelOut(BaseModel):
    group: str
    date_from: date
    date_to: date
    reasons: dict[str, str] = Field(description="коды причин и их описание")
    total: FunnelRowOut
    rows: list[FunnelRowOut]
