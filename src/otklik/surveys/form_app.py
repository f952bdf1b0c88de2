"""The respondent form's two requests (``GET`` and ``POST /s/{token}``) handed straight to their
handlers, past FastAPI's exception middleware, its exit stack and the matching of ~35 routers.

Installed as the innermost middleware (``app.py``), so every request still passes the layers
that matter to a person and an operator: the trusted-proxy rewrite (the client address the
rate limits use), the security headers with ``Cache-Control: no-store``, and the request log
(request id, access log line with the route template, metrics, the one log line and page of a
500). What the skipped layers did for these two routes is done here: the NUL check (in the
handlers, ``reject_nul``), the route in the scope (for the log and metrics) and the
application's exception handlers (``DomainError`` pages such as 429 with ``Retry-After``,
413, 415; the database's NUL refusal). Any other method or path (``HEAD``, ``/s/{token}/…``)
goes on to the routers, where the same two routes stay registered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from otklik.surveys import pages

PREFIX = "/s/"
Handler = Callable[[Request], Awaitable[Response]]


def _route(method: str) -> Route:
    for route in pages.router.routes:
        if (
            isinstance(route, Route)
            and route.path == "/s/{token}"
            and method in (route.methods or ())
        ):
            return route
    raise LookupError(f"no respondent route for {method}")  # pragma: no cover - wiring error


class RespondentForm:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        get, post = _route("GET"), _route("POST")
        self.handlers: dict[str, tuple[Route, Handler]] = {
            "GET": (get, pages.questionnaire),
            "POST": (post, pages.answer),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            token = scope["path"][len(PREFIX) :]
            found = self.handlers.get(scope["method"])
            if found is not None and token and "/" not in token and not scope.get("root_path"):
                route, handler = found
                scope["route"] = route  # the request log names the template, not the token
                scope["endpoint"] = handler
                scope["path_params"] = {"token": token}
                request = Request(scope, receive)
                try:
                    response = await handler(request)
                except Exception as exc:
                    response = await _handled(request, exc)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _handled(request: Request, exc: Exception) -> Response:
    """The application's handler for ``exc`` (as FastAPI's exception middleware would pick it);
    an exception without one goes on to the request log (logged once, answered 500)."""
    handlers = request.app.exception_handlers
    for cls in type(exc).__mro__:
        handler = handlers.get(cls)
        if handler is not None:
            response: Response = await handler(request, exc)
            return response
    raise exc
