"""Helpers every router of the workbench shares: rendering a page, the one error shape, the
project's working codebook, redirects, and the few operations both the pages and the API run
(the review queue, saving an upload, sending an export).

The routers (:mod:`simap.web.pages`, :mod:`simap.web.pages_admin`, :mod:`simap.web.advice`,
:mod:`simap.web.api`, :mod:`simap.web.mapview`) import from here and from :mod:`simap.web.deps`;
:mod:`simap.web.app` only assembles them, and no router imports ``app`` or another router.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.background import BackgroundTask

from simap.codebook.schema import Codebook
from simap.errors import InvalidInput, SimapError
from simap.review import blind
from simap.store import browse, repo
from simap.store.accounts import Account
from simap.store.db import Store
from simap.web.auth import csrf_for, current_account
from simap.web.deps import hidden_of, store_of

UPLOAD_TYPES = (
    ".csv",
    ".tsv",
    ".jsonl",
    ".ndjson",
    ".json",
    ".xlsx",
    ".parquet",
    ".pdf",
    ".docx",
    ".txt",
    ".md",
    ".qdpx",
    ".qde",
)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


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
    from simap.review.codebook_versions import working_version

    store: Store = request.app.state.store
    cache: dict[str, Codebook] = request.app.state.codebooks
    version = working_version(store)
    if version is None:
        return cache.setdefault("__default__", cb.load(cb.DEFAULT_CODEBOOK))
    if version not in cache:
        cache[version] = repo.load_codebook_version(store, version)
    return cache[version]


# -- operations shared by pages and API ------------------------------------------------------------
def recode_embedder(request: Request) -> str:
    """The embedder of the Re-code button: the setting, else the last zero-shot run's, else the default."""
    from sqlalchemy import select

    from simap.defaults import DEFAULT_EMBEDDER
    from simap.embed import embedders
    from simap.store.schema import Run

    if request.app.state.settings.embedder:
        return str(request.app.state.settings.embedder)
    with store_of(request).engine.connect() as conn:
        params = conn.execute(
            select(Run.params)
            .where(Run.kind == "code", Run.status == "done", Run.model.like("zeroshot:%"))
            .order_by(Run.id.desc())
            .limit(1)
        ).scalar_one_or_none()
    name = str((params or {}).get("embedder") or "").split(":")[0]
    return name if name in embedders.names() else DEFAULT_EMBEDDER


def start_recode(request: Request, me: Account, ref: str | None) -> Any:
    """Queue a re-code of the project with codebook ``ref`` (default: the working one)."""
    from simap.review.codebook_versions import resolve

    book = resolve(store_of(request), ref or None)
    return request.app.state.jobs.submit_code(me.username, book, embedder=recode_embedder(request))


def queue_rows(
    request: Request, me: Account, n: int = 30, skip: set[str] | None = None
) -> list[dict[str, Any]]:
    """What ``me`` should review next: their blind assignments first, then the review queue
    (leaving out the ventures in ``skip``)."""
    from simap.review.queue import review_queue

    store, book = store_of(request), codebook_of(request)
    skip = skip or set()
    mine = [
        a for a in blind.my_assignments(store, me.username) if not a["done"] and a["venture_id"] not in skip
    ]
    rows = [
        {
            "venture_id": a["venture_id"],
            "name": a["name"],
            "code_id": "",
            "reason": f"assigned to you in {a['set']}",
        }
        for a in mine
    ]
    hidden = blind.blind_ventures(store, hidden_of(request, me)) | skip
    frame = review_queue(store, book, n=n + len(hidden), reviewer=me.username)
    frame = frame[~frame["venture_id"].isin(hidden)].head(max(0, n - len(rows)))
    names = browse.venture_names(store, frame["venture_id"].tolist())
    for r in frame.to_dict("records"):
        vid = r["venture_id"]
        rows.append(
            {"venture_id": vid, "name": names.get(vid, vid), "code_id": r["code_id"], "reason": r["reason"]}
        )
    return rows[:n]


def mapping_from_form(text: str | None) -> Any:
    """A FieldMapping from the form's lines (``id=ein``, ``text=mission,program``; None: auto)."""
    from simap.ingest.mapping import FieldMapping

    items = [line.strip() for line in (text or "").replace(";", "\n").splitlines() if line.strip()]
    return FieldMapping.parse_cli(items) if items else None


async def save_upload(request: Request, upload: UploadFile) -> Path:
    """Stream an upload into the jobs' upload folder (type and size checked)."""
    name = Path(upload.filename or "").name
    if Path(name).suffix.lower() not in UPLOAD_TYPES:
        raise InvalidInput(
            f"the file must be one of {', '.join(UPLOAD_TYPES)}; got {name or '(no name)'!r}.", field="file"
        )
    limit = request.app.state.settings.max_upload_mb * 1024 * 1024
    path: Path = request.app.state.jobs.new_upload_path(name)
    size = 0
    with path.open("wb") as fh:
        while chunk := await upload.read(1 << 20):
            size += len(chunk)
            if size > limit:
                raise InvalidInput(f"the file is larger than {limit // (1 << 20)} MB.", field="file")
            fh.write(chunk)
    return path


def export_file(request: Request, kind: str, fmt: str, accepted_only: bool) -> FileResponse:
    """Write the codes or the report into a temporary file and send it."""
    from simap.pipeline import Project

    project = Project(store_of(request))
    book = codebook_of(request)
    folder = Path(tempfile.mkdtemp(prefix="simap-export-"))
    min_score = request.app.state.settings.min_score
    if kind == "project":  # REFI-QDA, for NVivo, ATLAS.ti, MAXQDA, QualCoder
        path = folder / "simap-project.qdpx"
        project.export_project(path, codebook=book, min_score=min_score)
        media = "application/zip"
    elif kind == "codebook":
        path = project.export_codebook(folder / f"{book.name}.qdc", fmt="qdc", codebook=book)
        media = "application/xml"
    elif kind == "report":
        path = project.write_report(
            folder / "social-innovation-map.html",
            codebook=book,
            min_score=min_score,
            include_suggestions=not accepted_only,
        )
        media = "text/html"
    else:
        path = folder / f"codes.{fmt}"
        project.export_codes(
            path, fmt=fmt, codebook=book, min_score=min_score, include_suggestions=not accepted_only
        )
        media = "text/csv" if fmt == "csv" else "application/x-ndjson"
    return FileResponse(
        path, media_type=media, filename=path.name, background=BackgroundTask(shutil.rmtree, folder, True)
    )
