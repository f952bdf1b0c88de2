"""Sign-in, personal tokens and the administrator's pages (the cabinet home is in cabinets)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from otklik.errors import TooManyRequests
from otklik.identity import audit_labels, repository, service
from otklik.identity.deps import PageUser, optional_user, require_roles
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.kit.pagination import PageNo, PageParams
from otklik.kit.web import DB, SESSION_COOKIE, client_key, render, settings_of, verify_csrf

router = APIRouter(include_in_schema=False)
Csrf = Depends(verify_csrf)
AdminUser = Annotated[User, Depends(require_roles(Role.admin))]


def _safe_next(target: str) -> str:
    """Only local paths, so the login form cannot be used as an open redirect."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/cabinet"


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, user: Annotated[User | None, Depends(optional_user)]) -> Response:
    if user is not None:
        return RedirectResponse("/cabinet", status_code=303)
    return render(request, "home.html", demo=settings_of(request).log_channel_enabled)


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str = "/cabinet") -> Response:
    return render(request, "login.html", next=_safe_next(next), error=None, email="")


@router.post("/login", response_class=HTMLResponse, dependencies=[Csrf])
async def login(
    request: Request,
    session: DB,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/cabinet",
) -> Response:
    settings = settings_of(request)
    target = _safe_next(next)
    try:
        user = await service.authenticate(session, settings, email, password, client_key(request))
    except TooManyRequests as exc:
        return render(
            request, "login.html", status_code=429, next=target, error=exc.message, email=email
        )
    if user is None:
        return render(
            request,
            "login.html",
            status_code=400,
            next=target,
            email=email,
            error="Неверный адрес электронной почты или пароль.",
        )
    token = await service.start_session(session, settings, user)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies and not settings.is_dev,
        max_age=settings.session_hours * 3600,
    )
    return response


@router.post("/logout", dependencies=[Csrf])
async def logout(request: Request, session: DB) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await service.end_session(session, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/cabinet/tokens", response_class=HTMLResponse)
async def tokens(request: Request, session: DB, user: PageUser) -> Response:
    items = await repository.list_tokens(session, user.id)
    return render(request, "tokens.html", tokens=items, new_token=None)


@router.post("/cabinet/tokens", response_class=HTMLResponse, dependencies=[Csrf])
async def create_token(
    request: Request,
    session: DB,
    user: PageUser,
    name: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    token = await service.create_api_token(session, user, name)
    items = await repository.list_tokens(session, user.id)
    return render(request, "tokens.html", tokens=items, new_token=token)


@router.post("/cabinet/tokens/{token_id}/revoke", dependencies=[Csrf])
async def revoke_token(session: DB, user: PageUser, token_id: int) -> Response:
    await service.revoke_api_token(session, user, token_id)
    return RedirectResponse("/cabinet/tokens", status_code=303)


@router.get("/admin/audit", response_class=HTMLResponse)
async def audit(
    request: Request,
    session: DB,
    user: AdminUser,
    page: PageNo = 1,
    q: str = "",
    entity: str = "",
) -> Response:
    result = await repository.list_audit(
        session, PageParams.parse(page, 50, "", q), entity=entity[:60]
    )
    return render(request, "admin_audit.html", page=result, entity=entity, audit=audit_labels)


@router.get("/admin/users", response_class=HTMLResponse)
async def users(
    request: Request, session: DB, user: AdminUser, page: PageNo = 1, q: str = ""
) -> Response:
    result = await repository.list_users(session, PageParams.parse(page, 50, "", q))
    return render(request, "admin_users.html", page=result)
