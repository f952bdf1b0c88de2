"""Page helpers: templates, CSRF (signed double-submit cookie), client identity, responses."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.db import transaction
from otklik.errors import CsrfFailed
from otklik.kit import fmt
from otklik.kit.pii import PiiVault
from otklik.kit.replica import READ_METHODS, remember_write, replica_of, written_lsn

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
CSRF_COOKIE = "otklik_csrf"
SESSION_COOKIE = "otklik_session"

# Domain labels (roles, scopes, sectors) are registered as globals by ``app.py``.
templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))


def _query(request: Request, **changes: Any) -> str:
    params = dict(request.query_params)
    params.update({k: str(v) for k, v in changes.items()})
    return "?" + urlencode({k: v for k, v in params.items() if v not in ("", None)})


templates.env.globals["query"] = _query
fmt.register(templates.env)


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def vault_of(request: Request) -> PiiVault:
    vault: PiiVault = request.app.state.vault
    return vault


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed when the handler succeeds. With a read replica,
    a committed non-GET request also notes the primary's WAL position (read-your-writes)."""
    async with transaction(request.app.state.sessionmaker) as session:
        yield session
    if request.method not in READ_METHODS and replica_of(request) is not None:
        settings = settings_of(request)
        await remember_write(request, session, settings.secure_cookies and not settings.is_dev)


# scope="function": the commit happens before the response is sent, not after.
DB = Annotated[AsyncSession, Depends(db_session, scope="function")]


async def read_session(request: Request, primary: DB) -> AsyncIterator[AsyncSession]:
    """A read-only page's session: on the replica when one is configured, reachable and has
    replayed this browser's last write; else the request's primary session (created lazily:
    it costs nothing unless used). Nothing may be written through it."""
    replica = replica_of(request)
    session = await replica.session_for(written_lsn(request)) if replica else None
    if session is None:
        yield primary
        return
    async with session:
        yield session


# Cabinets, exports and open data (docs/deployment.md, "Read replica").
ReadDB = Annotated[AsyncSession, Depends(read_session, scope="function")]


def csrf_cookie_value(request: Request) -> str:
    value = getattr(request.state, "csrf_cookie", None)
    if value is None:
        value = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        request.state.csrf_cookie = value
    return str(value)


def csrf_token(request: Request) -> str:
    secret = settings_of(request).secret_key.encode()
    return hmac.new(secret, csrf_cookie_value(request).encode(), hashlib.sha256).hexdigest()


async def verify_csrf(request: Request) -> None:
    """Dependency for every form POST: the field must match the signed cookie."""
    form = await request.form()
    sent = form.get("csrf_token")
    cookie = request.cookies.get(CSRF_COOKIE)
    if (
        not cookie
        or not isinstance(sent, str)
        or not hmac.compare_digest(sent, csrf_token(request))
    ):
        raise CsrfFailed()


def client_key(request: Request) -> str:
    host = request.client.host if request.client else "unknown"
    return hashlib.sha256(host.encode()).hexdigest()[:32]


class LazyCsrfToken:
    """The page's CSRF token, computed (and its cookie issued) only if the template uses it:
    pages without a form, such as the respondent's, set no cookie."""

    __slots__ = ("request",)

    def __init__(self, request: Request) -> None:
        self.request = request

    def __str__(self) -> str:
        return csrf_token(self.request)

    def __html__(self) -> str:
        return str(self)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("viewer", getattr(request.state, "viewer", None))
    context["csrf_token"] = LazyCsrfToken(request)
    return templates.TemplateResponse(request, template, context, status_code=status_code)
