"""Security headers and the CSRF cookie on every response: a plain ASGI middleware.

A plain ASGI wrapper costs a few microseconds per request; Starlette's ``BaseHTTPMiddleware``
(``@app.middleware("http")``) runs the app in a separate task with a memory stream and cost
about a tenth of the whole request path of a simple page.
"""

from __future__ import annotations

from http.cookies import SimpleCookie

from starlette.datastructures import MutableHeaders
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'"
)
STATIC_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Content-Security-Policy", CSP),
)
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
NO_STORE_PREFIXES = (
    "/api/",
    "/cabinet",
    "/admin",
    "/login",
    "/registry",
    "/s/",
    "/outreach",
    "/demo",
    "/insights",
    "/intake",
    "/surveys",
    "/o/",
    "/reports",
)


def _request_cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == b"cookie":
            return cookie_parser(value.decode("latin-1")).get(name)
    return None


def _cookie_header(name: str, value: str, *, secure: bool) -> str:
    cookie: SimpleCookie = SimpleCookie()
    cookie[name] = value
    cookie[name]["path"] = "/"
    cookie[name]["httponly"] = True
    cookie[name]["samesite"] = "lax"
    if secure:
        cookie[name]["secure"] = True
    return cookie.output(header="").strip()


class SecurityHeaders:
    """Adds the headers above (unless a response set its own; HSTS in production) and, when a
    page issued a new CSRF cookie value (``request.state.csrf_cookie``), the cookie itself."""

    def __init__(
        self, app: ASGIApp, *, csrf_cookie: str, secure_cookies: bool, hsts: bool = False
    ) -> None:
        self.app = app
        # HSTS only in production, where the server is reached over HTTPS (demo runs on http).
        self.static_headers = (*STATIC_HEADERS, HSTS) if hsts else STATIC_HEADERS
        self.csrf_cookie = csrf_cookie
        self.secure_cookies = secure_cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        no_store = scope["path"].startswith(NO_STORE_PREFIXES)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                new_cookie = state.get("csrf_cookie")
                if new_cookie and _request_cookie(scope, self.csrf_cookie) != new_cookie:
                    value = _cookie_header(self.csrf_cookie, new_cookie, secure=self.secure_cookies)
                    headers.append("set-cookie", value)
                for value in state.get("set_cookie", ()):  # e.g. kit.replica's LSN cookie
                    headers.append("set-cookie", value)
                for name, value in self.static_headers:
                    headers.setdefault(name, value)
                if no_store:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)
