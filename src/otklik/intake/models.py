"""Information systems and the service records they report."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Sequence,
    SmallInteger,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from otklik.kit.models import Base


class Source(Base):
    """An information system with an API key; only key hashes are stored."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(12))
    previous_key_hash: Mapped[str | None] = mapped_column(String(64))
    previous_key_expires_at: Mapped[datetime | None]
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ServiceRecord(Base):
    """One service a citizen received. No SNILS, name or birth date: a person key and age band.

    No foreign keys on purpose: every batch is checked against the registry in one set-based
    statement in the same transaction (``repository.CHECK_STAGED``); row-by-row foreign-key
    checks repeated that and took about 45 % of the insert time. Registry rows are not deleted
    (organizations leave through ``participates_to``).

    Partitioned by month of ``received_at`` (migration 0250, ``otklik.ops.partitions``): the
    database's primary key is (id, received_at); the id and the global uniqueness of
    (source_id, record_id) live in ``service_record_keys``, written by the same statement.
    """

    __tablename__ = "service_records"
    __table_args__ = (
        Index("ix_service_records_source_received", "source_id", "received_at"),
        Index("ix_service_records_organization_served", "organization_id", "served_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    source_id: Mapped[int] = mapped_column(Integer)
    record_id: Mapped[str] = mapped_column(String(100))
    content_hash: Mapped[bytes] = mapped_column(LargeBinary)
    organization_id: Mapped[int] = mapped_column(BigInteger)
    service_code: Mapped[str] = mapped_column(String(100))
    life_situation_code: Mapped[str | None] = mapped_column(String(100))
    served_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())
    person_key: Mapped[bytes] = mapped_column(LargeBinary)
    age_band: Mapped[str] = mapped_column(String(8))
    is_minor: Mapped[bool] = mapped_column(Boolean)
    channel: Mapped[str] = mapped_column(String(8))


class ServiceRecordKey(Base):
    """A service record's id (from the sequence) and its exactly-once key, unpartitioned: intake
    inserts here first (``ON CONFLICT DO NOTHING``) and the record only for the keys it got;
    ``received_at`` finds the record's partition. The tables naming a record reference this."""

    __tablename__ = "service_record_keys"
    __table_args__ = (UniqueConstraint("source_id", "record_id"),)

    id: Mapped[int] = mapped_column(
        BigInteger, Sequence("service_records_id_seq"), primary_key=True
    )
    source_id: Mapped[int] = mapped_column(Integer)
    record_id: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime]


class Contact(Base):
    """How to reach a recipient or representative: sealed (AES-GCM), deleted at ``expires_at``."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    service_record_id: Mapped[int] = mapped_column(
        ForeignKey("service_record_keys.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(SmallInteger)  # 0 recipient, 1.. representatives
    relation: Mapped[str | None] = mapped_column(String(20))
    person_key: Mapped[bytes] = mapped_column(LargeBinary)
    portal_account_confirmed: Mapped[bool] = mapped_column(Boolean)
    has_email: Mapped[bool] = mapped_column(Boolean)
    has_phone: Mapped[bool] = mapped_column(Boolean)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class IntakeBatch(Base):
    """One request, file chunk or stream batch: counts only, for volume and quality."""

    __tablename__ = "intake_batches"
    __table_args__ = (Index("ix_intake_batches_source_received", "source_id", "received_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    channel: Mapped[str] = mapped_column(String(8))
    received_at: Mapped[datetime]
    records: Mapped[int] = mapped_column(Integer)
    accepted: Mapped[int] = mapped_column(Integer)
    duplicates: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)


class IntakeRejection(Base):
    """Rejected records counted by source, day, organization (when known) and error code."""

    __tablename__ = "intake_rejections"
    __table_args__ = (
        UniqueConstraint(
            "source_id",
            "day",
            "organization_ogrn",
            "code",
            name="uq_intake_rejections_key",
            postgresql_nulls_not_distinct=True,
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    day: Mapped[date] = mapped_column(Date)
    organization_ogrn: Mapped[str | None] = mapped_column(String(13))
    code: Mapped[str] = mapped_column(String(40))
    count: Mapped[int] = mapped_column(Integer)
