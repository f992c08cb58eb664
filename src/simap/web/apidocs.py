"""The API's OpenAPI document and its Swagger UI, both for logged-in users only, served offline.

* ``GET /api/openapi.json``: the OpenAPI 3 document (needs a session or an API token). Every
  operation documents the one error body (:class:`ErrorBody`) for 400, 401, 403 and 404 (and 409
  where a write can conflict); FastAPI's 422 is replaced, since validation errors are answered
  with 400 in that shape.
* ``GET /docs``: Swagger UI, from the assets that the ``fastapi-offline`` package ships (no CDN),
  under ``/docs/assets/...`` (also behind the log-in). "Try it out" sends the page's CSRF token,
  so writes work with the session cookie as well.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from markupsafe import escape
from pydantic import BaseModel, Field

from simap.errors import BackendUnavailable, NotFound
from simap.store.accounts import Account
from simap.web.auth import csrf_for, require

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Account, Depends(require("viewer"))]
ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png")
ERROR_STATUSES = {
    "400": "Invalid input (a parameter or the body is not what was expected)",
    "401": "Not logged in (no session, or the API token is not valid)",
    "403": "Not allowed (the role is too low, or the CSRF token is missing)",
    "404": "Not found",
}
WRITE_ERRORS = {"409": "Conflict (the data changed since it was read)"}


class ErrorDetail(BaseModel):
    field: str | None = None
    message: str | None = None


class ErrorBody(BaseModel):
    """The one error shape of the API."""

    ok: bool = Field(False, description="always false")
    error: str = Field(description="what went wrong, what was expected and how to fix it")
    errors: list[Any] = Field(default_factory=list, description="per-field details")
    status: int = Field(description="the HTTP status")


def _assets_dir() -> Path:
    try:
        return Path(str(resources.files("fastapi_offline") / "static"))
    except ModuleNotFoundError:
        raise BackendUnavailable(
            "the API docs need the fastapi-offline package (it ships Swagger UI).",
            hint="install with: pip install 'simap[web]'",
        ) from None


def build_openapi(app: Any) -> dict[str, Any]:
    """The OpenAPI document of ``app`` with the error responses and the two ways to log in."""
    if app.openapi_schema:
        return app.openapi_schema  # type: ignore[no-any-return]
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["ErrorBody"] = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    components["securitySchemes"] = {
        "bearerAuth": {"type": "http", "scheme": "bearer", "description": "an API token (Tokens page)"},
        "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "simap_session"},
    }
    schema["security"] = [{"bearerAuth": []}, {"cookieAuth": []}]
    ref = {"$ref": "#/components/schemas/ErrorBody"}
    for methods in schema.get("paths", {}).values():
        for method, op in methods.items():
            responses = op.setdefault("responses", {})
            responses.pop("422", None)
            extra = dict(ERROR_STATUSES)
            if method in ("post", "put", "patch", "delete"):
                extra |= WRITE_ERRORS
            for status, text in extra.items():
                responses.setdefault(
                    status, {"description": text, "content": {"application/json": {"schema": ref}}}
                )
    app.openapi_schema = schema
    return schema


@router.get("/api/openapi.json")
def openapi_json(request: Request, account: Viewer) -> JSONResponse:
    return JSONResponse(build_openapi(request.app))


@router.get("/docs/assets/{name}")
def docs_asset(name: str, account: Viewer) -> FileResponse:
    if name not in ASSETS:
        raise NotFound(f"no docs asset {name!r}.")
    return FileResponse(_assets_dir() / name)


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · API docs</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" href="/docs/assets/favicon.png">
</head>
<body>
<p style="font-family:sans-serif;margin:.5em 1em"><a href="/">Back to the workbench</a></p>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>
SwaggerUIBundle({{
  url: "/api/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  requestInterceptor: function (req) {{ req.headers["X-CSRF-Token"] = {csrf}; return req; }},
}});
</script>
</body>
</html>
"""


@router.get("/docs")
def docs_page(request: Request, account: Viewer) -> HTMLResponse:
    _assets_dir()
    html = PAGE.format(title=escape(request.app.title), csrf=json.dumps(csrf_for(request)))
    response = HTMLResponse(html)
    if getattr(request.state, "session_dirty", False):
        request.app.state.sessions.write(response, request.state.session)
    return response


def install(app: Any) -> None:
    """Serve the OpenAPI document and the docs behind the log-in (``create_app`` calls this)."""
    app.openapi = lambda: build_openapi(app)
    app.include_router(router)
