"""The web application: API and pages in one server."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from otklik.cabinets import home as cabinets_home
from otklik.cabinets import pages as cabinets_pages
from otklik.config import Settings, get_settings
from otklik.db import StatementPool, create_engine, resolve_database_url, session_factory
from otklik.effects import api as effects_api
from otklik.effects import pages as effects_pages
from otklik.errors import DomainError
from otklik.exchange import pages as exchange_pages
from otklik.exchange.receiver import ReceiverState, create_receiver
from otklik.identity import api as identity_api
from otklik.identity import pages as identity_pages
from otklik.identity.deps import LoginRequired
from otklik.identity.roles import ROLE_LABELS, SCOPE_LABELS
from otklik.improvement import api as improvement_api
from otklik.improvement import pages as improvement_pages
from otklik.improvement import pages_bodies as improvement_bodies
from otklik.improvement import passports_api as improvement_passports_api
from otklik.incidents import api as incidents_api
from otklik.incidents import pages as incidents_pages
from otklik.indicators import api as indicators_api
from otklik.insights import pages as insights_pages
from otklik.intake import api as intake_api
from otklik.intake import pages as intake_pages
from otklik.jobs import pages as jobs_pages
from otklik.kit import logs
from otklik.kit.access import RequestLog
from otklik.kit.headers import SecurityHeaders
from otklik.kit.hostile import (
    OUT_OF_RANGE_CODE,
    OUT_OF_RANGE_MESSAGE,
    NulCharacter,
    is_nul_error,
    is_out_of_range,
    reject_nul,
)
from otklik.kit.openapi import document_api
from otklik.kit.pii import PiiVault
from otklik.kit.proxy import TrustedProxies
from otklik.kit.replica import Replica
from otklik.kit.web import CSRF_COOKIE, WEB_DIR, render, templates
from otklik.labs import api as labs_api
from otklik.labs import pages as labs_pages
from otklik.mszu import api as mszu_api
from otklik.mszu import pages as mszu_pages
from otklik.opendata import api as opendata_api
from otklik.opendata import pages as opendata_pages
from otklik.ops import routes as ops_routes
from otklik.outreach import api as outreach_api
from otklik.outreach import pages as outreach_pages
from otklik.priorities import api as priorities_api
from otklik.priorities import pages as priorities_pages
from otklik.registry import api as registry_api
from otklik.registry import pages as registry_pages
from otklik.registry.models import SECTOR_LABELS
from otklik.reports import pages as reports_pages
from otklik.roadmaps import api as roadmaps_api
from otklik.roadmaps import pages as roadmaps_pages
from otklik.surveys import pages as surveys_pages
from otklik.surveys.form_app import RespondentForm
from otklik.surveys.masking import warm_up as warm_up_masking
from otklik.yswd import pages as yswd_pages

log = logging.getLogger("otklik")

HTTP_MESSAGES = {
    400: "Некорректный запрос.",
    403: "Недостаточно прав для этого действия.",
    404: "Страница или объект не найдены.",
    405: "Этот метод запроса здесь не поддерживается.",
    413: "Слишком большой запрос.",
    500: "Внутренняя ошибка. Мы уже знаем о ней; попробуйте повторить позже.",
}

# Every router of the application, in matching order (the authorization matrix test walks them).
ROUTERS = (
    ops_routes.router,
    surveys_pages.router,  # the respondent form, the busiest public page: matched early
    identity_pages.router,
    cabinets_home.router,
    registry_pages.router,
    identity_api.router,
    registry_api.router,
    intake_api.router,
    intake_pages.router,
    jobs_pages.router,
    outreach_api.router,
    outreach_pages.router,
    insights_pages.router,
    indicators_api.router,
    improvement_api.router,
    improvement_passports_api.router,
    improvement_pages.router,
    improvement_bodies.router,
    roadmaps_api.router,
    roadmaps_pages.router,
    incidents_api.router,
    incidents_pages.router,
    effects_api.router,
    effects_pages.router,
    labs_api.router,
    labs_pages.router,
    mszu_api.router,
    mszu_pages.router,
    priorities_api.router,
    priorities_pages.router,
    exchange_pages.router,
    yswd_pages.router,
    opendata_api.router,
    opendata_pages.router,
    reports_pages.router,
    cabinets_pages.router,
)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error(request: Request, status: int, code: str, message: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
    return render(request, "error.html", status_code=status, status=status, message=message)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        if isinstance(exc, LoginRequired) and not _wants_json(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={target}", status_code=303)
        if _wants_json(request):
            return JSONResponse(exc.as_json(), status_code=exc.status_code, headers=exc.headers)
        page = _error(request, exc.status_code, exc.code, exc.message)
        page.headers.update(exc.headers or {})  # e.g. Retry-After on a 429 page
        return page

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = HTTP_MESSAGES.get(exc.status_code, "Ошибка запроса.")
        return _error(request, exc.status_code, f"http_{exc.status_code}", message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        if _wants_json(request):
            details = [
                {"field": ".".join(str(p) for p in e["loc"][1:]), "message": e["msg"]}
                for e in exc.errors()
            ]
            return JSONResponse(
                {
                    "error": {
                        "code": "validation_failed",
                        "message": "Параметры запроса не прошли проверку.",
                        "details": details,
                    }
                },
                status_code=422,
            )
        return _error(request, 400, "bad_request", "Некорректные параметры запроса.")

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> Response:
        if is_nul_error(exc):  # a NUL in a body: refused by the driver, nothing written
            return _error(request, 400, NulCharacter.code, NulCharacter.message)
        if is_out_of_range(exc):
            return _error(request, 400, OUT_OF_RANGE_CODE, OUT_OF_RANGE_MESSAGE)
        raise exc  # to RequestLog: logged once, with the request id, and answered 500


async def internal_error(request: Request, exc: Exception) -> Response:
    """The answer to an unexpected exception (``RequestLog`` has logged it, once)."""
    return _error(request, 500, "internal_error", HTTP_MESSAGES[500])


def create_app(settings: Settings, database_url: str | None = None) -> FastAPI:
    settings.check_secrets()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not hasattr(app.state, "sessionmaker"):
            url = database_url or resolve_database_url(settings)
            engine = create_engine(url)
            app.state.sessionmaker = session_factory(engine)
            # the respondent form's statements: autocommit, no ORM (docs/surveys.md)
            app.state.statements = StatementPool(url)
            if settings.database_replica_url:  # cabinets, exports, open data (kit.replica)
                app.state.replica = Replica(settings.database_replica_url)
            if settings.env != "test":
                # The masking models (~2 s) load before the first respondent, not during.
                await asyncio.to_thread(warm_up_masking)
            listen = os.environ.get(logs.LISTEN_ENV, settings.base_url)
            log.info("Отклик ready on %s (process %s, mode %s)", listen, os.getpid(), settings.env)
            yield
            await app.state.statements.close()
            await engine.dispose()
            if settings.database_replica_url:
                await app.state.replica.dispose()
        else:
            yield

    docs = settings.docs_enabled  # off in production unless OTKLIK_PUBLIC_DOCS=1
    app = FastAPI(
        title="Отклик API",
        version="1.0",
        description="Оценка гражданами качества услуг организаций социальной сферы.",
        lifespan=lifespan,
        dependencies=[Depends(reject_nul)],
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.settings = settings
    app.state.vault = PiiVault(settings.pii_key)
    install_error_handlers(app)

    # innermost first: the respondent form's two requests go straight to their handlers (past
    # the routers and FastAPI's own layers), the request log sees the route the router matched,
    # security headers wrap its 500 page too, and the proxy layer has fixed the client before
    # anyone reads it
    app.add_middleware(RespondentForm)
    app.add_middleware(RequestLog, on_error=internal_error)
    app.add_middleware(
        SecurityHeaders,
        csrf_cookie=CSRF_COOKIE,
        secure_cookies=settings.secure_cookies and not settings.is_dev,
        hsts=settings.env == "production",
    )
    app.add_middleware(TrustedProxies, networks=settings.trusted_proxy_networks)
    templates.env.auto_reload = settings.env == "demo"  # compiled templates are kept
    templates.env.globals.update(
        role_labels=ROLE_LABELS, scope_labels=SCOPE_LABELS, sector_labels=SECTOR_LABELS
    )

    app.mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static")

    for router in ROUTERS:
        app.include_router(router)
    if settings.env == "demo":  # the demo's own ИАС МКГУ, so the transfer is seen live
        app.mount("/demo/iasmkgu", create_receiver(ReceiverState(token=settings.iasmkgu_token)))
    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = default_openapi()
            intake_api.extend_openapi(schema)
            document_api(schema, [route for router in ROUTERS for route in router.routes])
            mszu_api.extend_openapi(schema)
        return app.openapi_schema or default_openapi()

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def app_from_environment() -> FastAPI:
    """The application of one ``otklik serve`` worker process (settings from the environment)."""
    settings = get_settings()
    logs.configure(settings.log_level, settings.log_format)
    return create_app(settings, resolve_database_url(settings))
