"""FastAPI dependencies: who is calling, and may they."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from otklik.errors import DomainError, Forbidden, Unauthorized
from otklik.identity import repository
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.identity.security import token_hash
from otklik.identity.service import scope_of as scope_of  # for registry's api/pages
from otklik.kit.clock import now_utc
from otklik.kit.openapi import answers
from otklik.kit.web import DB, SESSION_COOKIE


@dataclass(frozen=True)
class Viewer:
    """What the page chrome shows of the signed-in user; safe to render after a rollback."""

    email: str
    role: str


class LoginRequired(DomainError):
    """A page needs a signed-in user: HTML gets a redirect to the login page."""

    status_code = 401
    code = "login_required"
    message = "Войдите, чтобы открыть эту страницу."


async def optional_user(request: Request, session: DB) -> User | None:
    token = request.cookies.get(SESSION_COOKIE)
    user = None
    if token:
        user = await repository.user_for_session(session, token_hash(token), now_utc())
    request.state.viewer = Viewer(user.email, user.role) if user else None
    return user


async def page_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise LoginRequired()
    return user


@answers(401)
async def api_user(request: Request, session: DB) -> User:
    """Bearer personal token, or the browser session."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        user = await repository.user_for_api_token(session, token_hash(auth[7:].strip()), now_utc())
        if user is None:
            raise Unauthorized("Неверный или отозванный токен.", code="invalid_token")
        return user
    user = await optional_user(request, session)
    if user is None:
        raise Unauthorized()
    return user


def require_roles(*roles: Role, api: bool = False) -> Callable[..., Coroutine[Any, Any, User]]:
    allowed = {r.value for r in roles}
    base = api_user if api else page_user

    @answers(401, 403)
    async def dep(user: User = Depends(base)) -> User:  # noqa: B008 - closure over ``base``
        if user.role not in allowed:
            raise Forbidden()
        return user

    return dep


PageUser = Annotated[User, Depends(page_user)]
ApiUser = Annotated[User, Depends(api_user)]
