"""The review workbench: ``create_app(settings)`` builds the FastAPI app (pages and ``/api``).

Pages (``simap.web.pages``, ``simap.web.pages_admin``) and the JSON API (``simap.web.api``) call
the same library functions (``simap.review.*``, ``simap.store.browse``, ``simap.store.accounts``,
``simap.pipeline.Project``). Errors are rendered in one place, :func:`error_response`: JSON
``{"ok": false, "error": ..., "errors": [...], "status": ...}`` for the API, an HTML page for
pages, with the status from the error class (``http_status``).
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from simap.codebook.schema import Codebook
from simap.errors import InvalidInput, NotFound, SimapError
from simap.store import browse, repo
from simap.store.db import Store, open_store
from simap.web.auth import Sessions, csrf_for, current_account
from simap.web.jobs import ImportJobs
from simap.web.settings import Settings

SECRET_SETTING = "web_secret"


def error_body(status: int, message: str, errors: list[Any] | None = None) -> dict[str, Any]:
    """The one error shape of the API."""
    return {"ok": False, "error": message, "errors": errors or [], "status": status}


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api") or "application/json" in request.headers.get("accept", "")


def error_response(request: Request, status: int, message: str, errors: list[Any] | None = None) -> Response:
    if wants_json(request):
        return JSONResponse(error_body(status, message, errors), status_code=status)
    if status == 401:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    return render(request, "error.html", {"status": status, "message": message}, status_code=status)


def render(request: Request, template: str, context: dict[str, Any], *, status_code: int = 200) -> Response:
    """A page: the template with the account, CSRF token, codebook and settings in its context."""
    templates: Jinja2Templates = request.app.state.templates
    try:
        account = current_account(request)
    except SimapError:
        account = None
    ctx = {
        "request": request,
        "me": account,
        "csrf": csrf_for(request),
        "settings": request.app.state.settings,
        "path": request.url.path,
    } | context
    response = templates.TemplateResponse(request, template, ctx, status_code=status_code)
    if getattr(request.state, "session_dirty", False):
        request.app.state.sessions.write(response, request.state.session)
    return response


def codebook_of(request: Request) -> Codebook:
    """The project's working codebook (parsed once per version)."""
    from simap import codebook as cb
    from simap.review.codebook_edit import SETTING

    store: Store = request.app.state.store
    cache: dict[str, Codebook] = request.app.state.codebooks
    setting = browse.get_setting(store, SETTING)
    version = str(setting["version"]) if setting and setting.get("version") else None
    if version is None:
        from sqlalchemy import select

        from simap.store.schema import Run

        with store.engine.connect() as conn:
            version = conn.execute(
                select(Run.codebook_version)
                .where(Run.kind == "code", Run.status == "done")
                .order_by(Run.id.desc())
                .limit(1)
            ).scalar_one_or_none()
    if version is None:
        return cache.setdefault("__default__", cb.load(cb.DEFAULT_CODEBOOK))
    if version not in cache:
        cache[version] = repo.load_codebook_version(store, version)
    return cache[version]


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
    from simap.web import advice, api, mapview, pages, pages_admin

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
