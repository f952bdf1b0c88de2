"""Reference data shared by both decrees: regions, founders, types, organizations, services."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from otklik.kit.models import Base, TimestampMixin


class Sector(StrEnum):
    healthcare = "healthcare"
    education = "education"
    sport = "sport"
    social = "social"


SECTOR_LABELS: dict[str, str] = {
    "healthcare": "Здравоохранение",
    "education": "Образование",
    "sport": "Физическая культура и спорт",
    "social": "Социальная защита",
    "culture": "Культура",
    "other": "Прочее",
}


class Region(Base):
    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    okato: Mapped[str | None] = mapped_column(String(2))
    name: Mapped[str] = mapped_column(String(200), unique=True)
    name_genitive: Mapped[str] = mapped_column(String(200))
    federal_district: Mapped[str] = mapped_column(String(40))
    timezone: Mapped[str] = mapped_column(String(40))


class Founder(Base):
    """A body that founded organizations: a federal ministry or a regional executive body."""

    __tablename__ = "founders"
    __table_args__ = (
        CheckConstraint("kind IN ('federal', 'regional')", name="kind"),
        CheckConstraint(
            "(kind = 'regional') = (region_code IS NOT NULL)", name="region_if_regional"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    short_name: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(400))
    sector: Mapped[str | None] = mapped_column(String(20))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)

    region: Mapped[Region | None] = relationship(lazy="raise")


class OrganizationType(Base):
    __tablename__ = "organization_types"

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    sector: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer, default=0)


class Organization(TimestampMixin, Base):
    __tablename__ = "organizations"
    __table_args__ = (
        CheckConstraint("ogrn ~ '^[0-9]{13}$'", name="ogrn_format"),
        CheckConstraint("inn ~ '^[0-9]{10}$'", name="inn_format"),
        CheckConstraint(
            "participates_to IS NULL OR participates_from IS NULL "
            "OR participates_to >= participates_from",
            name="participation_period",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    ogrn: Mapped[str] = mapped_column(String(13), unique=True)
    inn: Mapped[str] = mapped_column(String(10), index=True)
    full_name: Mapped[str] = mapped_column(Text)
    short_name: Mapped[str] = mapped_column(String(500))
    type_code: Mapped[str] = mapped_column(ForeignKey("organization_types.code"), index=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    founder_id: Mapped[int] = mapped_column(ForeignKey("founders.id"), index=True)
    address: Mapped[str] = mapped_column(Text, default="")
    participates_from: Mapped[date | None] = mapped_column(Date)
    participates_to: Mapped[date | None] = mapped_column(Date)

    type: Mapped[OrganizationType] = relationship(lazy="raise")
    region: Mapped[Region] = relationship(lazy="raise")
    founder: Mapped[Founder] = relationship(lazy="raise")


class Service(Base):
    __tablename__ = "services"

    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    sector: Mapped[str] = mapped_column(String(20))
    is_mszu: Mapped[bool] = mapped_column(Boolean, default=False)
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    proactive: Mapped[bool] = mapped_column(Boolean, default=False)


class ServiceOrganizationType(Base):
    """Which organization types provide a service."""

    __tablename__ = "service_organization_types"

    service_code: Mapped[str] = mapped_column(
        ForeignKey("services.code", ondelete="CASCADE"), primary_key=True
    )
    type_code: Mapped[str] = mapped_column(ForeignKey("organization_types.code"), primary_key=True)


class LifeSituation(Base):
    __tablename__ = "life_situations"

    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")


class LifeSituationService(Base):
    """The ordered services of a life situation."""

    __tablename__ = "life_situation_services"

    life_situation_code: Mapped[str] = mapped_column(
        ForeignKey("life_situations.code", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_code: Mapped[str] = mapped_column(ForeignKey("services.code"), index=True)
