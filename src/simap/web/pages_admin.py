"""Pages for the project: codebook editor, import, export, agreement, coding sets, users, tokens."""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.background import BackgroundTask

from simap.errors import InvalidInput, NotFound, SimapError
from simap.review import blind, codebook_edit, reliability
from simap.review.agreement import load_gold
from simap.store import accounts, browse
from simap.store.accounts import Account
from simap.web.app import codebook_of, render
from simap.web.auth import require
from simap.web.deps import hidden_of, store_of

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Account, Depends(require("viewer"))]
Analyst = Annotated[Account, Depends(require("analyst"))]
Admin = Annotated[Account, Depends(require("admin"))]
UPLOAD_TYPES = (".csv", ".tsv", ".jsonl", ".ndjson", ".json", ".xlsx", ".pdf", ".docx", ".txt", ".md")


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _lines(text: str | None) -> list[str] | None:
    return None if text is None else [x.strip() for x in text.splitlines() if x.strip()]


# -- codebook editor --------------------------------------------------------------------------------
def ops_from_form(form: dict[str, Any]) -> list[dict[str, Any]]:
    """One edit operation from the editor's form fields."""
    op = form.get("op")
    if op == "add":
        code = {
            "id": (form.get("id") or "").strip(),
            "kind": (form.get("kind") or "").strip(),
            "name": (form.get("name") or "").strip(),
            "definition": (form.get("definition") or "").strip(),
            "examples": _lines(form.get("examples")) or [],
        }
        return [{"op": "add", "code": code}]
    if op == "edit":
        edit: dict[str, Any] = {"op": "edit", "code_id": form.get("code_id")}
        for key in ("name", "definition"):
            if form.get(key) is not None:
                edit[key] = form[key]
        for key in ("examples", "counter_examples", "include", "exclude", "cues"):
            if form.get(key) is not None:
                edit[key] = _lines(form[key])
        return [edit]
    if op == "rename":
        return [{"op": "rename", "code_id": form.get("code_id"), "name": form.get("name")}]
    if op == "merge":
        return [{"op": "merge", "code_id": form.get("code_id"), "into": form.get("into")}]
    if op in ("retire", "restore"):
        return [{"op": op, "code_id": form.get("code_id")}]
    if op == "json":
        try:
            ops = json.loads(form.get("ops") or "[]")
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"the edits are not valid JSON ({exc.msg}).", field="ops") from None
        if not isinstance(ops, list):
            raise InvalidInput("the edits must be a JSON list of operations.", field="ops")
        return ops
    raise InvalidInput(f"unknown codebook edit {op!r}.", field="op", hint=f"use one of {codebook_edit.OPS}")


def _codebook_ctx(request: Request) -> dict[str, Any]:
    store = store_of(request)
    history = [
        e
        for e in browse.recent_events(store, limit=200)
        if e["action"] in ("codebook_edited", "codebook_saved")
    ][:15]
    return {"book": codebook_of(request), "history": history, "preview": None, "ops": None, "new": None}


@router.get("/codebook")
def codebook_page(request: Request, me: Viewer) -> Response:
    return render(request, "codebook.html", _codebook_ctx(request))


@router.post("/codebook/preview")
async def codebook_preview(request: Request, me: Analyst) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    ops = ops_from_form(form)
    new, rows = codebook_edit.preview(
        store_of(request), codebook_of(request), ops, min_score=request.app.state.settings.min_score
    )
    ctx = _codebook_ctx(request) | {"preview": rows, "ops": json.dumps(ops), "new": new}
    return render(request, "codebook.html", ctx)


@router.post("/codebook/save")
async def codebook_save(request: Request, me: Analyst, ops: Annotated[str, Form()]) -> Response:
    edits = ops_from_form({"op": "json", "ops": ops})
    codebook_edit.save_edits(store_of(request), codebook_of(request), edits, actor=me.username)
    return redirect("/codebook")


# -- import -----------------------------------------------------------------------------------------
@router.get("/import")
def import_page(request: Request, me: Viewer) -> Response:
    return render(request, "import.html", {"jobs": request.app.state.jobs.recent(), "job": None})


async def save_upload(request: Request, upload: UploadFile) -> Path:
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


@router.post("/import")
async def import_upload(
    request: Request,
    me: Analyst,
    file: Annotated[UploadFile, File()],
    skip_invalid: Annotated[bool, Form()] = False,
) -> Response:
    path = await save_upload(request, file)
    job = request.app.state.jobs.submit(path, path.name, me.username, skip_invalid=skip_invalid)
    return redirect(f"/import/{job.id}")


@router.get("/import/{job_id}")
def import_job(request: Request, job_id: str, me: Viewer) -> Response:
    job = request.app.state.jobs.get(job_id)
    if job is None:
        raise NotFound(f"import job {job_id!r} does not exist (jobs are kept until the server restarts).")
    return render(request, "import.html", {"jobs": request.app.state.jobs.recent(), "job": job})


# -- export -----------------------------------------------------------------------------------------
@router.get("/export")
def export_page(request: Request, me: Viewer) -> Response:
    return render(request, "export.html", {"book": codebook_of(request)})


def export_file(request: Request, kind: str, fmt: str, accepted_only: bool) -> FileResponse:
    """Write the codes or the report into a temporary file and send it (shared with the API)."""
    from simap.pipeline import Project

    project = Project(store_of(request))
    book = codebook_of(request)
    folder = Path(tempfile.mkdtemp(prefix="simap-export-"))
    min_score = request.app.state.settings.min_score
    if kind == "report":
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
    import shutil

    return FileResponse(
        path, media_type=media, filename=path.name, background=BackgroundTask(shutil.rmtree, folder, True)
    )


@router.get("/export/codes")
def export_codes(request: Request, me: Viewer, fmt: str = "jsonl", accepted_only: bool = False) -> Response:
    return export_file(request, "codes", fmt, accepted_only)


@router.get("/export/report")
def export_report(request: Request, me: Viewer, accepted_only: bool = False) -> Response:
    return export_file(request, "report", "html", accepted_only)


# -- agreement --------------------------------------------------------------------------------------
@router.get("/agreement")
def agreement_page(
    request: Request, me: Viewer, a: str = "", b: str = "", min_score: float | None = None
) -> Response:
    store, book = store_of(request), codebook_of(request)
    names = reliability.coder_names(store)
    a = a or (names[0] if names else "")
    b = b or (names[1] if len(names) > 1 else "")
    score = request.app.state.settings.min_score if min_score is None else min_score
    report = problem = None
    if a and b:
        try:
            report = reliability.agreement(store, book, a, b, min_score=score, hidden=hidden_of(request, me))
        except SimapError as exc:
            problem = str(exc)
    return render(
        request,
        "agreement.html",
        {
            "names": names,
            "a": a,
            "b": b,
            "min_score": score,
            "report": report,
            "problem": problem,
            "book": book,
        },
    )


@router.get("/agreement/disagreements")
def disagreements_page(
    request: Request, me: Viewer, a: str, b: str, min_score: float | None = None
) -> Response:
    score = request.app.state.settings.min_score if min_score is None else min_score
    rows = reliability.disagreements(
        store_of(request), codebook_of(request), a, b, min_score=score, hidden=hidden_of(request, me)
    )
    return render(request, "disagreements.html", {"rows": rows, "a": a, "b": b, "min_score": score})


@router.post("/agreement/gold")
async def gold_upload(
    request: Request, me: Analyst, name: Annotated[str, Form()], file: Annotated[UploadFile, File()]
) -> Response:
    folder = Path(tempfile.mkdtemp(prefix="simap-gold-"))
    path = folder / "gold.jsonl"
    path.write_bytes(await file.read())
    try:
        labels = load_gold(path)
    finally:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    reliability.save_gold(
        store_of(request), name, {k: sorted(v) for k, v in labels.items()}, actor=me.username
    )
    return redirect(f"/agreement?b=gold:{name.strip()}")


# -- coding sets ------------------------------------------------------------------------------------
@router.get("/sets")
def sets_page(request: Request, me: Viewer) -> Response:
    store = store_of(request)
    analysts = [u for u in accounts.list_users(store) if u.active and u.can("analyst")]
    return render(
        request,
        "sets.html",
        {
            "sets": blind.list_sets(store),
            "analysts": analysts,
            "mine": blind.my_assignments(store, me.username),
        },
    )


@router.post("/sets")
async def sets_create(
    request: Request,
    me: Admin,
    name: Annotated[str, Form()],
    coder_a: Annotated[str, Form()],
    coder_b: Annotated[str, Form()],
    ventures: Annotated[str, Form()] = "",
    sample: Annotated[int, Form()] = 0,
    hide_machine: Annotated[bool, Form()] = False,
) -> Response:
    store = store_of(request)
    ids = [v.strip() for v in ventures.replace(",", "\n").splitlines() if v.strip()]
    if not ids and sample > 0:
        from sqlalchemy import select

        from simap.store.schema import Venture

        with store.engine.connect() as conn:
            every = list(conn.execute(select(Venture.id).order_by(Venture.id)).scalars())
        ids = random.Random(name).sample(every, min(sample, len(every)))
    blind.create_set(store, name, ids, [coder_a, coder_b], actor=me.username, hide_machine=hide_machine)
    return redirect("/sets")


# -- users and tokens -------------------------------------------------------------------------------
@router.get("/users")
def users_page(request: Request, me: Admin) -> Response:
    store = store_of(request)
    return render(request, "users.html", {"users": accounts.list_users(store), "roles": accounts.ROLES})


@router.post("/users")
async def users_add(
    request: Request,
    me: Admin,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    role: Annotated[str, Form()],
    display_name: Annotated[str, Form()] = "",
) -> Response:
    accounts.add_user(
        store_of(request), username.strip(), password, role=role, display_name=display_name, actor=me.username
    )
    return redirect("/users")


@router.post("/users/{username}/role")
async def users_role(request: Request, username: str, me: Admin, role: Annotated[str, Form()]) -> Response:
    accounts.set_role(store_of(request), username, role, actor=me.username)
    return redirect("/users")


@router.post("/users/{username}/remove")
async def users_remove(request: Request, username: str, me: Admin) -> Response:
    accounts.remove_user(store_of(request), username, actor=me.username)
    return redirect("/users")


@router.get("/tokens")
def tokens_page(request: Request, me: Viewer) -> Response:
    store = store_of(request)
    tokens = accounts.list_tokens(store, None if me.can("admin") else me.username)
    return render(request, "tokens.html", {"tokens": tokens, "new_token": None})


@router.post("/tokens")
async def tokens_create(request: Request, me: Viewer, name: Annotated[str, Form()]) -> Response:
    store = store_of(request)
    token, _ = accounts.create_token(store, me.username, name, actor=me.username)
    tokens = accounts.list_tokens(store, None if me.can("admin") else me.username)
    return render(request, "tokens.html", {"tokens": tokens, "new_token": token})


@router.post("/tokens/{token_id}/revoke")
async def tokens_revoke(request: Request, token_id: int, me: Viewer) -> Response:
    accounts.revoke_token(store_of(request), token_id, actor=me)
    return redirect("/tokens")
