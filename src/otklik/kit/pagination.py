"""Pagination, sorting and search parameters shared by list pages and JSON lists."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")

MAX_PER_PAGE = 200
MAX_PAGE = 100_000
# A page number query parameter: beyond MAX_PAGE is a 400, never an integer overflow in SQL.
PageNo = Annotated[int, Query(ge=1, le=MAX_PAGE)]


@dataclass(frozen=True)
class PageParams:
    page: int = 1
    per_page: int = 50
    sort: str = ""
    q: str = ""

    @classmethod
    def parse(cls, page: int, per_page: int, sort: str, q: str) -> PageParams:
        return cls(
            page=min(max(page, 1), MAX_PAGE),
            per_page=min(max(per_page, 1), MAX_PER_PAGE),
            sort=sort[:40],
            q=q.strip()[:200],
        )

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


@dataclass
class Page(Generic[T]):
    items: list[T]
    total: int
    params: PageParams
    sort_keys: list[str] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.params.per_page))

    @property
    def has_next(self) -> bool:
        return self.params.page < self.pages

    @property
    def has_prev(self) -> bool:
        return self.params.page > 1


def order_by_param(
    stmt: Select[Any], sort: str, columns: dict[str, ColumnElement[Any]], default: str
) -> tuple[Select[Any], str]:
    """Apply ``sort`` ("name" or "-name") if it names a known column, else ``default``."""
    key = sort.removeprefix("-")
    if key not in columns:
        sort, key = default, default.removeprefix("-")
    col = columns[key]
    return stmt.order_by(col.desc() if sort.startswith("-") else col.asc()), sort


async def paginate(
    session: AsyncSession, stmt: Select[Any], params: PageParams, *, scalars: bool = True
) -> tuple[list[Any], int]:
    total = await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    page_stmt = stmt.limit(params.per_page).offset(params.offset)
    if scalars:
        items: list[Any] = list((await session.scalars(page_stmt)).all())
    else:
        items = list((await session.execute(page_stmt)).all())
    return items, int(total or 0)


def like_pattern(q: str) -> str:
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
