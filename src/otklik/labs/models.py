"""User-testing lab studies: tasks, anonymous sessions, per-task results, SUS, findings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from otklik.kit.models import Base


class LabStudy(Base):
    """A study of one subject; a re-test points at the study whose tasks it repeats."""

    __tablename__ = "lab_studies"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str | None] = mapped_column(String(2), index=True)
    retest_of: Mapped[int | None] = mapped_column(ForeignKey("lab_studies.id"))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class LabTask(Base):
    __tablename__ = "lab_tasks"
    __table_args__ = (UniqueConstraint("study_id", "position"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("lab_studies.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(SmallInteger)
    title: Mapped[str] = mapped_column(String(300))


class LabSession(Base):
    """One anonymous participant: a code and demographic bands only; SUS answers 1..5."""

    __tablename__ = "lab_sessions"
    __table_args__ = (
        UniqueConstraint("study_id", "participant"),
        CheckConstraint("sus_score BETWEEN 0 AND 100", name="sus_score"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    study_id: Mapped[int] = mapped_column(
        ForeignKey("lab_studies.id", ondelete="CASCADE"), index=True
    )
    participant: Mapped[str] = mapped_column(String(20))  # P01, never a name
    age_band: Mapped[str] = mapped_column(String(8))
    disability: Mapped[bool] = mapped_column(Boolean)
    digital: Mapped[str] = mapped_column(String(10))  # low, medium, high
    sus: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger))
    sus_score: Mapped[float] = mapped_column(Float)


class LabResult(Base):
    __tablename__ = "lab_results"
    __table_args__ = (
        UniqueConstraint("session_id", "task_id"),
        CheckConstraint("seq BETWEEN 1 AND 7", name="seq"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("lab_sessions.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(ForeignKey("lab_tasks.id", ondelete="CASCADE"), index=True)
    success: Mapped[bool] = mapped_column(Boolean)
    seconds: Mapped[int] = mapped_column(Integer)
    errors: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(SmallInteger)


class LabFinding(Base):
    __tablename__ = "lab_findings"
    __table_args__ = (CheckConstraint("severity BETWEEN 1 AND 4", name="severity"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    study_id: Mapped[int] = mapped_column(
        ForeignKey("lab_studies.id", ondelete="CASCADE"), index=True
    )
    task_id: Mapped[int | None] = mapped_column(ForeignKey("lab_tasks.id", ondelete="CASCADE"))
    severity: Mapped[int] = mapped_column(SmallInteger)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, server_default="")
    change_request_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


LAB_TABLES = ("lab_studies", "lab_tasks", "lab_sessions", "lab_results", "lab_findings")
