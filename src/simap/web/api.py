"""The JSON API under ``/api`` (OpenAPI at ``/api/openapi.json``): the same library calls as the
pages. Authenticate with ``Authorization: Bearer <token>``; errors use the one error shape."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi import Path as FastPath
from fastapi.responses import Response
from pydantic import BaseModel, Field

from simap.errors import NotFound
from simap.review import actions, blind, codebook_edit, reliability
from simap.review.actions import Span
from simap.store import accounts, browse
from simap.store.accounts import Account
from simap.web.auth import require
from simap.web.common import (
    codebook_of,
    export_file,
    mapping_from_form,
    queue_rows,
    save_upload,
    start_recode,
)
from simap.web.deps import hidden_of, store_of, venture_filter

router = APIRouter(prefix="/api", tags=["api"])
NDJSON = "application/x-ndjson"
Score = Annotated[float | None, Query(ge=0.0, le=1.0)]
RowId = Annotated[int, FastPath(ge=1, le=2**63 - 1)]  # a database id (SQLite INTEGER)
Viewer = Annotated[Account, Depends(require("viewer"))]
Analyst = Annotated[Account, Depends(require("analyst"))]
Admin = Annotated[Account, Depends(require("admin"))]


def _clean(value: Any) -> Any:
    """JSON-safe: NaN -> None, datetimes -> ISO text."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


class SpanIn(BaseModel):
    field: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class DecisionIn(BaseModel):
    memo: str | None = None
    evidence: list[SpanIn] = Field(default_factory=list)
    base: int | None = Field(
        default=None,
        description="The code's `version` as you read it; a decision made since by anyone gets 409.",
    )


class AddCodeIn(DecisionIn):
    code_id: str


class EvidenceIn(BaseModel):
    evidence: list[SpanIn] = Field(min_length=1)


class CodebookEditIn(BaseModel):
    ops: list[dict[str, Any]] = Field(min_length=1)


class CodingSetIn(BaseModel):
    name: str
    coders: list[str] = Field(min_length=2)
    ventures: list[str] = Field(min_length=1)
    hide_machine: bool = True


class UserIn(BaseModel):
    username: str
    password: str
    role: str = "analyst"
    display_name: str = ""


class TokenIn(BaseModel):
    name: str


def _spans(items: list[SpanIn]) -> list[Span]:
    return [Span(s.field, s.start, s.end) for s in items]


@router.get("/me", summary="Who the token or session belongs to")
def me(account: Viewer) -> dict[str, Any]:
    return {"username": account.username, "role": account.role, "display_name": account.display_name}


@router.get("/stats", summary="Project counts (dashboard)")
def stats(request: Request, account: Viewer) -> dict[str, Any]:
    book = codebook_of(request)
    return {
        "codebook": book.name,
        "version": book.version,
        **browse.project_counts(store_of(request), book.ids()),
    }


@router.get("/ventures", summary="Search and filter ventures")
def ventures(
    request: Request,
    account: Viewer,
    q: str = "",
    code: str = "",
    kind: str = "",
    status: str = "",
    country: str = "",
    sector: str = "",
    coder: str = "",
    min_score: Score = None,
    max_score: Score = None,
    page: Annotated[int, Query(ge=1, le=browse.MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=browse.MAX_PER_PAGE)] = 50,
) -> dict[str, Any]:
    flt = venture_filter(dict(request.query_params), codebook_of(request))
    result = browse.list_ventures(store_of(request), flt, hidden=hidden_of(request, account))
    return {
        "total": result.total,
        "page": result.page,
        "pages": result.pages,
        "ventures": _clean(result.rows),
    }


@router.get("/ventures/{venture_id}", summary="A venture: texts, codes with evidence, history")
def venture(request: Request, venture_id: str, account: Viewer) -> dict[str, Any]:
    view = actions.venture_view(
        store_of(request),
        codebook_of(request),
        venture_id,
        viewer=account.username,
        hidden=hidden_of(request, account),
        min_score=request.app.state.settings.min_score,
    )
    return _clean(
        {
            "venture": view.venture,
            "documents": [{"field": f, "text": t} for f, t in view.documents],
            "codes": [c.__dict__ for c in view.codes],
            "events": view.events,
        }
    )


def _decide(
    request: Request, venture_id: str, code_id: str, user: str, status: str, body: DecisionIn | None
) -> Any:
    body = body or DecisionIn()
    return actions.decide(
        store_of(request),
        codebook_of(request),
        venture_id=venture_id,
        code_id=code_id,
        user=user,
        status=status,
        memo=body.memo,
        spans=_spans(body.evidence),
        base=body.base,
    )


@router.post("/ventures/{venture_id}/codes/{code_id}/accept", summary="Accept a code")
def accept(
    request: Request, venture_id: str, code_id: str, account: Analyst, body: DecisionIn | None = None
) -> Any:
    return _decide(request, venture_id, code_id, account.username, "accepted", body)


@router.post("/ventures/{venture_id}/codes/{code_id}/reject", summary="Reject a code")
def reject(
    request: Request, venture_id: str, code_id: str, account: Analyst, body: DecisionIn | None = None
) -> Any:
    return _decide(request, venture_id, code_id, account.username, "rejected", body)


@router.post("/ventures/{venture_id}/codes", summary="Add a code with evidence and a memo")
def add_code(request: Request, venture_id: str, account: Analyst, body: AddCodeIn) -> Any:
    return actions.add_code(
        store_of(request),
        codebook_of(request),
        venture_id,
        body.code_id,
        user=account.username,
        spans=_spans(body.evidence),
        memo=body.memo,
    )


@router.put("/ventures/{venture_id}/codes/{code_id}/evidence", summary="Replace the evidence spans")
def edit_span(request: Request, venture_id: str, code_id: str, account: Analyst, body: EvidenceIn) -> Any:
    return actions.edit_span(
        store_of(request),
        codebook_of(request),
        venture_id,
        code_id,
        user=account.username,
        spans=_spans(body.evidence),
    )


@router.post("/undo", summary="Undo your last decision (on one venture with ?venture_id=)")
def undo(request: Request, account: Analyst, venture_id: str | None = None) -> Any:
    return actions.undo_last(store_of(request), account.username, venture_id)


@router.get("/queue", summary="What to review next")
def queue(request: Request, account: Viewer, n: int = Query(20, ge=1, le=200)) -> list[dict[str, Any]]:
    return queue_rows(request, account, n=n)


@router.get("/codebook", summary="The working codebook")
def codebook(request: Request, account: Viewer) -> dict[str, Any]:
    book = codebook_of(request)
    return {"version": book.version, "codebook": book.model_dump(mode="json")}


@router.post("/codebook/preview", summary="What an edit changes in the map")
def codebook_preview(request: Request, account: Analyst, body: CodebookEditIn) -> dict[str, Any]:
    new, rows = codebook_edit.preview(
        store_of(request), codebook_of(request), body.ops, min_score=request.app.state.settings.min_score
    )
    return {"version": new.version, "changes": [r.to_dict() for r in rows]}


@router.post("/codebook", summary="Save edits as a new codebook version")
def codebook_save(request: Request, account: Analyst, body: CodebookEditIn) -> dict[str, Any]:
    new = codebook_edit.save_edits(store_of(request), codebook_of(request), body.ops, actor=account.username)
    return {"version": new.version, "codes": new.ids()}


@router.get("/codebook/versions", summary="The project's codebook versions (use them as NAME@VERSION)")
def codebook_versions_api(request: Request, account: Viewer) -> list[dict[str, Any]]:
    from simap.review.codebook_versions import list_versions

    return [v.to_dict() for v in list_versions(store_of(request))]


@router.get("/codebook/diff", summary="Re-code diff: codes appearing/disappearing per venture, A -> B")
def codebook_diff_api(request: Request, account: Viewer, a: str, b: str | None = None) -> dict[str, Any]:
    from simap.review.codebook_versions import diff

    return diff(store_of(request), a, b).to_dict()


@router.post("/codebook/recode", summary="Re-code the project with a codebook version", status_code=202)
def codebook_recode_api(request: Request, account: Analyst, version: str | None = None) -> dict[str, Any]:
    return start_recode(request, account, version).to_dict()  # type: ignore[no-any-return]


@router.get("/jobs/{job_id}", summary="State of a background job (import or re-code)")
def job_state(request: Request, job_id: str, account: Viewer) -> dict[str, Any]:
    job = request.app.state.jobs.get(job_id)
    if job is None:
        raise NotFound(f"job {job_id!r} does not exist.")
    return job.to_dict()  # type: ignore[no-any-return]


@router.post("/imports", summary="Upload a file to import (runs in the background)", status_code=202)
async def import_file(
    request: Request,
    account: Analyst,
    file: Annotated[UploadFile, File()],
    skip_invalid: Annotated[bool, Form()] = False,
    map: Annotated[str, Form(description="Field mapping lines, e.g. id=ein; text=mission,program")] = "",
    update: Annotated[bool, Form()] = False,
) -> dict[str, Any]:
    mapping = mapping_from_form(map)
    path = await save_upload(request, file)
    job = request.app.state.jobs.submit(
        path, path.name, account.username, skip_invalid=skip_invalid, mapping=mapping, update=update
    )
    return job.to_dict()  # type: ignore[no-any-return]


@router.get("/imports/{job_id}", summary="State of an import job")
def import_state(request: Request, job_id: str, account: Viewer) -> dict[str, Any]:
    job = request.app.state.jobs.get(job_id)
    if job is None:
        raise NotFound(f"import job {job_id!r} does not exist.")
    return job.to_dict()  # type: ignore[no-any-return]


@router.get(
    "/export/codes",
    summary="Export the codes (jsonl or csv)",
    response_class=Response,
    responses={200: {"description": "One row per venture", "content": {NDJSON: {}, "text/csv": {}}}},
)
def export_codes(
    request: Request, account: Viewer, fmt: str = "jsonl", accepted_only: bool = False
) -> Response:
    return export_file(request, "codes", fmt, accepted_only)


@router.get(
    "/export/report",
    summary="The HTML map report",
    response_class=Response,
    responses={200: {"description": "A self-contained HTML page", "content": {"text/html": {}}}},
)
def export_report(request: Request, account: Viewer, accepted_only: bool = False) -> Response:
    return export_file(request, "report", "html", accepted_only)


@router.get("/export/project", summary="The project as REFI-QDA QDPX (NVivo, ATLAS.ti, MAXQDA, QualCoder)")
def export_project(request: Request, account: Viewer) -> Response:
    return export_file(request, "project", "qdpx", False)


@router.get("/export/codebook", summary="The working codebook as REFI-QDA QDC")
def export_codebook(request: Request, account: Viewer) -> Response:
    return export_file(request, "codebook", "qdc", False)


@router.get("/coders", summary="Coders one can compare (humans, machine, gold:<set>)")
def coders(request: Request, account: Viewer) -> list[str]:
    return reliability.coder_names(store_of(request))


@router.get("/agreement", summary="Cohen's kappa and Krippendorff's alpha of two coders")
def agreement(request: Request, account: Viewer, a: str, b: str, min_score: Score = None) -> dict[str, Any]:
    score = request.app.state.settings.min_score if min_score is None else min_score
    report = reliability.agreement(
        store_of(request), codebook_of(request), a, b, min_score=score, hidden=hidden_of(request, account)
    )
    return _clean({"a": a, "b": b, **report.to_dict()})


@router.get("/disagreements", summary="Venture x code pairs where two coders differ")
def disagreements(request: Request, account: Viewer, a: str, b: str, min_score: Score = None) -> list[Any]:
    score = request.app.state.settings.min_score if min_score is None else min_score
    rows = reliability.disagreements(
        store_of(request), codebook_of(request), a, b, min_score=score, hidden=hidden_of(request, account)
    )
    return [r.to_dict() for r in rows]


@router.get("/sets", summary="Coding sets (blind double coding) and their progress")
def sets(request: Request, account: Viewer) -> list[dict[str, Any]]:
    return [s.to_dict() for s in blind.list_sets(store_of(request))]


@router.post("/sets", summary="Assign ventures to two coders, blind", status_code=201)
def create_set(request: Request, account: Admin, body: CodingSetIn) -> dict[str, Any]:
    set_id = blind.create_set(
        store_of(request),
        body.name,
        body.ventures,
        body.coders,
        actor=account.username,
        hide_machine=body.hide_machine,
    )
    return {"id": set_id, "name": body.name}


@router.get("/events", summary="The audit trail (newest first)")
def events(
    request: Request,
    account: Viewer,
    venture_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[Any]:
    store = store_of(request)
    if venture_id:
        return _clean(browse.venture_events(store, venture_id, limit=limit))  # type: ignore[no-any-return]
    return _clean(browse.recent_events(store, limit=limit))  # type: ignore[no-any-return]


@router.get("/users", summary="Users of the project (admin)")
def users(request: Request, account: Admin) -> list[dict[str, Any]]:
    return [_clean(u.__dict__) for u in accounts.list_users(store_of(request))]


@router.post("/users", summary="Add a user (admin)", status_code=201)
def add_user(request: Request, account: Admin, body: UserIn) -> dict[str, Any]:
    user = accounts.add_user(
        store_of(request),
        body.username,
        body.password,
        role=body.role,
        display_name=body.display_name,
        actor=account.username,
    )
    return _clean(user.__dict__)  # type: ignore[no-any-return]


@router.delete("/users/{username}", summary="Remove a user (admin); their decisions stay")
def remove_user(request: Request, username: str, account: Admin) -> dict[str, bool]:
    accounts.remove_user(store_of(request), username, actor=account.username)
    return {"ok": True}


@router.post("/tokens", summary="Create an API token for yourself (shown once)", status_code=201)
def create_token(request: Request, account: Viewer, body: TokenIn) -> dict[str, Any]:
    token, info = accounts.create_token(
        store_of(request), account.username, body.name, actor=account.username
    )
    return {"token": token, **_clean(info.__dict__)}


@router.delete("/tokens/{token_id}", summary="Revoke a token")
def revoke_token(request: Request, token_id: RowId, account: Viewer) -> dict[str, bool]:
    accounts.revoke_token(store_of(request), token_id, actor=account)
    return {"ok": True}
