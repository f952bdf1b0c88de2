"""Per request: an id, the access log line, the request metrics, and the one log line of a 500.

A plain ASGI middleware (see ``headers.py`` for why not ``BaseHTTPMiddleware``). The access log
names the route *template* (``/s/{token}``, ``/api/v1/organizations/{ogrn}``), never the raw
path nor the query string; a path that matched no route is logged redacted. An exception that
escapes the application is logged here once, with the request id, and answered with
``on_error``'s page; it does not travel on to Starlette's and uvicorn's handlers (which logged
it a second and third time).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from otklik.kit import logs, metrics

access_log = logging.getLogger("otklik.access")
error_log = logging.getLogger("otklik.error")
REQUEST_ID_HEADER = "X-Request-ID"
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})  # polled: not in the access log


def route_template(scope: Scope) -> str:
    """The matched route's path template; for a path no route matched, the redacted path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path or "/"
    return logs.redact(str(scope.get("path", "")))[:200] or "/"


class RequestLog:
    def __init__(
        self, app: ASGIApp, *, on_error: Callable[[Request, Exception], Awaitable[Response]]
    ) -> None:
        self.app = app
        self.on_error = on_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = secrets.token_hex(8)
        rid_token = logs.request_id.set(rid)
        route_token = logs.route.set(None)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            logs.route.set(route_template(scope))
            error_log.error(
                "unhandled error on %s %s",
                scope["method"],
                route_template(scope),
                exc_info=True,
                extra={"method": scope["method"], "status": 500},
            )
            if not response_started:
                response = await self.on_error(Request(scope, receive), exc)
                await response(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            template = route_template(scope)
            # FastAPI's routes name themselves in the scope; a plain Starlette route (the
            # respondent form's) leaves its endpoint, and its path reads redacted ("/s/{token}")
            matched = isinstance(getattr(scope.get("route"), "path", None), str) or (
                scope.get("endpoint") is not None
            )
            # a bounded set of labels: scanners' paths are all "unmatched"
            label = template if matched else "unmatched"
            metrics.observe_request(scope["method"], label, status, seconds)
            if template not in QUIET_ROUTES:
                access_log.info(
                    "%s %s %s",
                    scope["method"],
                    template,
                    status,
                    extra={
                        "method": scope["method"],
                        "status": status,
                        "duration_ms": round(seconds * 1000, 1),
                        "route": template,
                    },
                )
            logs.route.reset(route_token)
            logs.request_id.reset(rid_token)
