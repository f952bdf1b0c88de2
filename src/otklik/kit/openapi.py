"""The OpenAPI document's security schemes and error answers, declared once for every route.

A dependency that can refuse a request says so with :func:`answers` (``api_user`` answers 401,
a role check 401 and 403); :func:`document_api` then lists those statuses, 404 where the path
names an object, 422 where there are parameters or a body and 400 everywhere (a malformed
request), each with the one error body, and attaches the security requirement: a route's own
``openapi_extra={"security": ...}`` or, by default, a personal token or the session cookie.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

F = TypeVar("F", bound=Callable[..., Any])

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "personalToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "otk_…",
        "description": "Личный токен пользователя (кабинет → «Токены API» или otklik users token).",
    },
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "otklik_session",
        "description": "Сессия браузера после входа на сайт.",
    },
    "sourceKey": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "otks_…",
        "description": "Ключ информационной системы (otklik sources create).",
    },
    "deliveryCallbackToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "Токен обратного вызова канала доставки (OTKLIK_DELIVERY_CALLBACK_TOKEN).",
    },
}
USER_SECURITY: list[dict[str, list[str]]] = [{"personalToken": []}, {"sessionCookie": []}]
SOURCE_SECURITY: dict[str, Any] = {"security": [{"sourceKey": []}]}
CALLBACK_SECURITY: dict[str, Any] = {"security": [{"deliveryCallbackToken": []}]}

ERROR_SCHEMA: dict[str, Any] = {
    "title": "ErrorOut",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "array", "items": {"type": "object"}},
            },
        }
    },
}
ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
DESCRIPTIONS = {
    400: "bad_request: некорректный запрос",
    401: "unauthorized: нет или неверные учётные данные",
    403: "forbidden: роли не хватает прав",
    404: "not_found: объект не найден или вне области доступа",
    409: "conflict",
    422: "validation_failed: параметры не прошли проверку",
    429: "rate_limited: слишком много запросов (заголовок Retry-After)",
}


def answers(*statuses: int) -> Callable[[F], F]:
    """Mark a dependency with the error statuses it can answer (for the OpenAPI document)."""

    def mark(fn: F) -> F:
        fn.openapi_statuses = statuses  # type: ignore[attr-defined]
        return fn

    return mark


def _tree(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _tree(sub)


def _statuses(route: APIRoute) -> set[int]:
    found = {400, 401}  # every /api/ route is authenticated
    for dep in _tree(route.dependant):
        found.update(getattr(dep.call, "openapi_statuses", ()))
        if dep.path_params:
            found.update((404, 422))
        if dep.query_params or dep.body_params or dep.header_params:
            found.add(422)
    return found


def document_api(schema: dict[str, Any], routes: Iterable[BaseRoute]) -> None:
    """Add security schemes, each operation's security and its error answers to ``schema``."""
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    components.setdefault("schemas", {}).setdefault("ErrorOut", ERROR_SCHEMA)
    for route in routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = schema.get("paths", {}).get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            operation.setdefault("security", USER_SECURITY)
            statuses = _statuses(route)
            responses = operation.setdefault("responses", {})
            for status in sorted(statuses):
                answer = responses.setdefault(str(status), {})
                answer.setdefault("description", DESCRIPTIONS[status])
            for status, answer in responses.items():
                if status.startswith("4"):
                    # every error has the one body (FastAPI's own 422 shape is never sent)
                    answer["content"] = {"application/json": {"schema": ERROR_REF}}
