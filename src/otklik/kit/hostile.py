"""Hostile input refused at one place: a NUL character anywhere in a request.

PostgreSQL text cannot hold NUL (0x00), so a NUL that reached a query used to end as a 500.
``reject_nul`` (an application-wide dependency) refuses one in the path or the query string
before any route runs; ``is_nul_error`` recognises the driver's refusal of one that came in a
body, so the error handler answers 400 and the request's transaction rolls back.
"""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.exc import DBAPIError

from otklik.errors import DomainError


class NulCharacter(DomainError):
    status_code = 400
    code = "nul_character"
    message = "Запрос содержит недопустимый нулевой символ (NUL). Уберите его и повторите."


def has_nul(text: str) -> bool:
    return "\x00" in text or "%00" in text


async def reject_nul(request: Request) -> None:
    """Dependency of every route: no NUL in the path or the query string (read from the scope:
    building ``request.url`` for this cost more than the check)."""
    scope = request.scope
    if (
        "\x00" in scope["path"]
        or "\x00" in scope.get("root_path", "")
        or has_nul(scope.get("query_string", b"").decode("latin-1"))
    ):
        raise NulCharacter


def is_nul_error(exc: DBAPIError) -> bool:
    return "NUL (0x00)" in str(exc.orig)


OUT_OF_RANGE_CODE = "value_out_of_range"
OUT_OF_RANGE_MESSAGE = "Некорректный запрос: число вне допустимого диапазона."


def is_out_of_range(exc: DBAPIError) -> bool:
    """A number too large for its column (SQLSTATE 22003), e.g. an id of 2^70 in a path: no
    such object can exist and nothing was written."""
    return getattr(exc.orig, "sqlstate", None) == "22003"
