"""The one scope filter every cabinet query passes through."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVarTuple

from sqlalchemy import ColumnElement, Select, false
from sqlalchemy.orm import InstrumentedAttribute

Ts = TypeVarTuple("Ts")


class ScopeKind(StrEnum):
    self_ = "self"
    organization = "organization"
    region = "region"
    founder = "founder"
    country = "country"


@dataclass(frozen=True)
class Scope:
    """What part of the country a user may see."""

    kind: ScopeKind
    organization_id: int | None = None
    region_code: str | None = None
    founder_id: int | None = None

    @classmethod
    def country(cls) -> Scope:
        return cls(ScopeKind.country)


@dataclass(frozen=True)
class ScopeColumns:
    """The columns of a query that locate a row in the country."""

    organization_id: ColumnElement[int] | InstrumentedAttribute[int]
    region_code: ColumnElement[str] | InstrumentedAttribute[str]
    founder_id: ColumnElement[int] | InstrumentedAttribute[int]


def apply_scope(stmt: Select[*Ts], scope: Scope, cols: ScopeColumns) -> Select[*Ts]:
    """Restrict ``stmt`` to the rows ``scope`` may see; unknown kinds see nothing."""
    if scope.kind is ScopeKind.country:
        return stmt
    if scope.kind is ScopeKind.organization and scope.organization_id is not None:
        return stmt.where(cols.organization_id == scope.organization_id)
    if scope.kind is ScopeKind.region and scope.region_code is not None:
        return stmt.where(cols.region_code == scope.region_code)
    if scope.kind is ScopeKind.founder and scope.founder_id is not None:
        return stmt.where(cols.founder_id == scope.founder_id)
    return stmt.where(false())
