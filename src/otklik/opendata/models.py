"""The stored files of published quarters (``store.py``): one row per quarter, dataset and
methodology version, and the file's rows already encoded as CSV and JSON."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Identity,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from otklik.kit.models import Base


class OpendataFile(Base):
    """A built file. ``source`` is the digest of everything it shows (the quarter's rollup, the
    year's population, the registry, the methodology): a file whose source differs from the
    current one is stale and is rebuilt."""

    __tablename__ = "opendata_files"
    __table_args__ = (UniqueConstraint("period", "dataset", "methodology_version"),)

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    period: Mapped[str] = mapped_column(String(7))
    dataset: Mapped[str] = mapped_column(String(20))
    methodology_version: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    builds: Mapped[int] = mapped_column(Integer, server_default="1")
    build_ms: Mapped[int] = mapped_column(Integer)
    built_at: Mapped[datetime] = mapped_column(server_default=func.now())


class OpendataFileRow(Base):
    """One row of a file, encoded once in each format, with the organizations' filter keys."""

    __tablename__ = "opendata_file_rows"

    file_id: Mapped[int] = mapped_column(
        ForeignKey("opendata_files.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str | None] = mapped_column(Text)
    type_code: Mapped[str | None] = mapped_column(Text)
    founder_code: Mapped[str | None] = mapped_column(Text)
    csv: Mapped[bytes] = mapped_column(LargeBinary)
    json: Mapped[bytes] = mapped_column(LargeBinary)
