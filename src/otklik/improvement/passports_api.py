"""Passports API: list, detail with its versions, export and import of a version (JSON).

Scope: a typical (national) passport is read by every reader; a regional one by the country
scope and by users of that region (an organization's users: its region's). A founder's scope
sees the typical passports only (a founder's organizations span regions).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import BigInteger, ColumnElement, String, cast, func, null, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import NotFound
from otklik.identity.deps import require_roles
from otklik.identity.models import User
from otklik.identity.service import scope_of
from otklik.improvement import passports
from otklik.improvement.api import ERRORS, READERS
from otklik.improvement.models import Passport
from otklik.improvement.schemas import SubjectOut
from otklik.improvement.workflow import PROPOSERS
from otklik.intake.schemas import ErrorOut
from otklik.kit.pagination import PageParams, paginate
from otklik.kit.scope import Scope, ScopeColumns, ScopeKind, apply_scope
from otklik.kit.web import DB
from otklik.registry.models import Organization

router = APIRouter(prefix="/api/v1", tags=["passports"])
Reader = Annotated[User, Depends(require_roles(*READERS, api=True))]
Proposer = Annotated[User, Depends(require_roles(*PROPOSERS, api=True))]
# where a regional passport lies (passports are located by region only)
_NONE: ColumnElement[int] = cast(null(), BigInteger)  # no such column: never matches
PASSPORT_SCOPE = ScopeColumns(
    organization_id=_NONE,
    region_code=cast(Passport.region_code, String),
    founder_id=_NONE,
)
Doc = Literal["current", "target", "standard"]
Status = Literal[
    "draft", "expertise", "digital_agreed", "wg_approved", "approved", "in_force", "superseded"
]


class PassportOut(BaseModel):
    id: int
    subject: SubjectOut
    doc: Doc = Field(description="current: текущее состояние; target: целевое; standard: стандарт")
    region_code: str | None = Field(description="null — типовой (федеральный) паспорт")
    version: int
    status: Status
    base_id: int | None = Field(description="типовой паспорт, от которого производен региональный")
    created_at: datetime


class PassportPage(BaseModel):
    items: list[PassportOut]
    total: int


class VersionOut(BaseModel):
    id: int
    version: int
    status: Status


class DeviationOut(BaseModel):
    field: str
    typical: str
    regional: str


class PassportDetail(PassportOut):
    body: dict[str, Any]
    return_reason: str | None = None
    versions: list[VersionOut] = Field(description="все версии того же документа, по номеру")
    deviations: list[DeviationOut] = Field(description="отличия от типового паспорта")


class PassportIn(BaseModel):
    """One version, as ``GET …/export`` gives it (``version`` and ``status`` are ignored:
    an imported version is always the next draft)."""

    subject_kind: Literal["service", "life_situation"]
    subject_code: str = Field(min_length=1, max_length=100)
    doc: Doc
    region_code: str | None = Field(default=None, max_length=2)
    body: dict[str, Any]
    version: int | None = None
    status: str | None = None


async def _visible(session: AsyncSession, user: User) -> Any:
    """The condition "this passport is in the user's scope" (through the one scope filter)."""
    scope = scope_of(user)
    if scope.kind is ScopeKind.organization:
        region = await session.scalar(
            select(Organization.region_code).where(Organization.id == scope.organization_id)
        )
        scope = Scope(ScopeKind.region, region_code=region)
    regional = apply_scope(
        select(Passport.id).where(Passport.region_code.is_not(None)), scope, PASSPORT_SCOPE
    )
    return or_(Passport.region_code.is_(None), Passport.id.in_(regional))


def _out(p: Passport) -> dict[str, Any]:
    return {
        "id": p.id,
        "subject": SubjectOut(kind=p.subject_kind, code=p.subject_code),
        "doc": p.doc,
        "region_code": p.region_code,
        "version": p.version,
        "status": p.status,
        "base_id": p.base_id,
        "created_at": p.created_at,
    }


async def _get(session: AsyncSession, user: User, pid: int) -> Passport:
    stmt = select(Passport).where(Passport.id == pid, await _visible(session, user))
    p = (await session.scalars(stmt.execution_options(populate_existing=True))).first()
    if p is None:
        raise NotFound("Документ не найден или вне вашей области доступа.")
    return p


@router.get(
    "/passports",
    response_model=PassportPage,
    responses=ERRORS,
    summary="Паспорта объектов улучшения (версии документов) в вашей области доступа",
)
async def list_passports(
    session: DB,
    user: Reader,
    subject: Annotated[str, Query(max_length=120, description="код или вид:код")] = "",
    doc: Annotated[Doc | None, Query()] = None,
    status: Annotated[Status | None, Query()] = None,
    region: Annotated[str, Query(max_length=8, description="код субъекта РФ или typical")] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> PassportPage:
    stmt = select(Passport).where(await _visible(session, user))
    if subject:
        kind, _, code = subject.partition(":")
        stmt = stmt.where(Passport.subject_code == (code or kind))
        if code:
            stmt = stmt.where(Passport.subject_kind == kind)
    if doc:
        stmt = stmt.where(Passport.doc == doc)
    if status:
        stmt = stmt.where(Passport.status == status)
    if region == "typical":
        stmt = stmt.where(Passport.region_code.is_(None))
    elif region:
        stmt = stmt.where(Passport.region_code == region)
    stmt = stmt.order_by(
        Passport.subject_kind, Passport.subject_code, func.coalesce(Passport.region_code, ""),
        Passport.doc, Passport.version, Passport.id,
    )  # fmt: skip
    items, total = await paginate(session, stmt, PageParams.parse(page, per_page, "", ""))
    return PassportPage(items=[PassportOut(**_out(p)) for p in items], total=total)


async def _detail(session: AsyncSession, user: User, pid: int) -> PassportDetail:
    p = await _get(session, user, pid)
    versions = await session.execute(
        select(Passport.id, Passport.version, Passport.status)
        .where(
            Passport.subject_kind == p.subject_kind,
            Passport.subject_code == p.subject_code,
            Passport.doc == p.doc,
            func.coalesce(Passport.region_code, "") == (p.region_code or ""),
        )
        .order_by(Passport.version)
    )
    base = await session.get(Passport, p.base_id) if p.base_id else None
    devs = passports.deviations(p.body, base.body) if base else []
    return PassportDetail(
        **_out(p),
        body=p.body,
        return_reason=p.return_reason,
        versions=[VersionOut(id=i, version=v, status=s) for i, v, s in versions],
        deviations=[DeviationOut(field=d["field"], typical=d["a"], regional=d["b"]) for d in devs],
    )


@router.get(
    "/passports/{pid}",
    response_model=PassportDetail,
    responses=ERRORS,
    summary="Версия паспорта: содержание, все версии документа, отличия от типового",
)
async def get_passport(session: DB, user: Reader, pid: int) -> PassportDetail:
    return await _detail(session, user, pid)


@router.get(
    "/passports/{pid}/export",
    responses={
        **ERRORS,
        200: {
            "description": "файл версии (JSON или YAML), тот же, что принимает импорт",
            "content": {"application/json": {}, "application/yaml": {}},
        },
    },
    summary="Выгрузить версию паспорта (JSON или YAML)",
)
async def export_passport(
    session: DB, user: Reader, pid: int, format: Literal["json", "yaml"] = "json"
) -> Response:
    p = await _get(session, user, pid)
    media = "application/json" if format == "json" else "application/yaml"
    return Response(
        passports.dump(p, format),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="passport-{p.id}.{format}"'},
    )


@router.post(
    "/passports",
    response_model=PassportDetail,
    status_code=201,
    responses={
        **ERRORS,
        422: {"model": ErrorOut, "description": "unknown_subject, unknown_document, bad_passport"},
    },
    summary="Загрузить версию паспорта (новый черновик следующего номера)",
)
async def import_passport(session: DB, user: Proposer, body: PassportIn) -> PassportDetail:
    p = await passports.create_version(
        session,
        user,
        subject_kind=body.subject_kind,
        subject_code=body.subject_code,
        doc=body.doc,
        body=body.body,
        region_code=body.region_code or None,
    )
    return await _detail(session, user, p.id)
