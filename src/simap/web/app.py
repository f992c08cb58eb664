"""The review workbench: ``create_app(settings)`` builds the FastAPI app (pages and ``/api``).

This module only assembles: the routers (``simap.web.pages``, ``simap.web.pages_admin``,
``simap.web.advice``, ``simap.web.mapview``) and the JSON API (``simap.web.api``) share their
helpers through ``simap.web.common`` and call the same library functions (``simap.review.*``,
``simap.store.browse``, ``simap.store.accounts``, ``simap.pipeline.Project``). Errors are
rendered in one place, :func:`simap.web.common.error_response`: JSON ``{"ok": false, "error":
..., "errors": [...], "status": ...}`` for the API, an HTML page for pages, with the status from
the error class (``http_status``).
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from simap.errors import InvalidInput, NotFound, SimapError
from simap.store import browse
from simap.store.db import Store, open_store
from simap.web.auth import Sessions
from simap.web.common import error_response
from simap.web.jobs import ImportJobs
from simap.web.settings import Settings

SECRET_SETTING = "web_secret"


def _secret(settings: Settings, store: Store) -> str:
    if settings.secret_key:
        return settings.secret_key
    kept = browse.get_setting(store, SECRET_SETTING)
    if kept and kept.get("key"):
        return str(kept["key"])
    key = secrets.token_urlsafe(48)
    browse.put_setting(store, SECRET_SETTING, {"key": key})
    return key


def create_app(settings: Settings, *, store: Store | None = None) -> FastAPI:
    """Build the workbench for ``settings.project`` (or an open ``store``)."""
    from simap.web import advice, api, discovery, mapview, pages, pages_admin

    store = store or open_store(settings.project, migrate=settings.migrate)
    upload_dir = settings.upload_dir or Path(tempfile.mkdtemp(prefix="simap-uploads-"))
    jobs = ImportJobs(store, upload_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        jobs.shutdown()

    app = FastAPI(
        title="simap workbench API",
        description="Review, reliability and export of a simap project. Authenticate with "
        "`Authorization: Bearer <token>` (create tokens on the Tokens page).",
        version="1",
        openapi_url=None,  # served behind the log-in by simap.web.apidocs, with /docs
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.jobs = jobs
    app.state.codebooks = {}
    app.state.facets_cache = {}
    app.state.sessions = Sessions(
        _secret(settings, store), max_age=int(settings.session_hours * 3600), secure=settings.https
    )
    web_root = resources.files("simap.web")
    templates = Jinja2Templates(directory=str(web_root / "templates"))
    from simap.web import views

    views.install(templates.env)
    app.state.templates = templates
    app.mount("/static", StaticFiles(directory=str(web_root / "static")), name="static")

    @app.exception_handler(SimapError)
    async def simap_error(request: Request, exc: SimapError) -> Response:
        return error_response(request, exc.http_status, str(exc), list(exc.details))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"field": ".".join(str(p) for p in e.get("loc", ())[1:]), "message": e.get("msg")}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"field": "", "message": "invalid"}
        message = InvalidInput(str(first["message"]), field=str(first["field"]) or None).message
        return error_response(request, 400, message, errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = (
            str(exc.detail) if exc.status_code != 404 else NotFound(f"no page at {request.url.path}.").message
        )
        return error_response(request, exc.status_code, message)

    app.include_router(api.router)
    app.include_router(advice.api)
    app.include_router(advice.pages)
    app.include_router(mapview.router)
    app.include_router(pages.router)
    app.include_router(pages_admin.router)
    app.include_router(discovery.router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    from simap.web import apidocs, security

    apidocs.install(app)  # /api/openapi.json and /docs, behind the log-in
    security.install(app)  # security headers on every response, log-in throttling
    return app


def app_from_env() -> FastAPI:
    """``create_app`` with settings from ``SIMAP_*`` variables (uvicorn ``--factory``, several workers)."""
    return create_app(Settings.from_env())
