"""Domain exceptions: a stable code, an HTTP status and a Russian message for people."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400
    code = "bad_request"
    message = "Некорректный запрос."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ):
        self.message = message or self.message
        self.code = code or self.code
        self.headers = headers
        self.extra = extra
        super().__init__(self.message)

    def as_json(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.extra}}


class NotFound(DomainError):
    status_code = 404
    code = "not_found"
    message = "Страница или объект не найдены."


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"
    message = "Недостаточно прав для этого действия."


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"
    message = "Требуется вход в систему."


class TooManyRequests(DomainError):
    status_code = 429
    code = "too_many_requests"
    message = "Слишком много попыток. Повторите позже."


class ValidationFailed(DomainError):
    status_code = 422
    code = "validation_failed"
    message = "Данные не прошли проверку."


class CsrfFailed(DomainError):
    status_code = 403
    code = "csrf_failed"
    message = "Форма устарела или отправлена не с нашего сайта. Обновите страницу и повторите."


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"
    message = "Слишком большой запрос."


class UnsupportedMediaType(DomainError):
    status_code = 415
    code = "unsupported_media_type"
    message = "Неподдерживаемый тип содержимого."
