"""Pages for reviewing: log-in, dashboard, venture list, venture page with its actions, queue."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from simap.errors import NotFound, PermissionDenied, SimapError
from simap.review import actions, blind, codebook_versions, reliability
from simap.store import accounts, browse
from simap.store.accounts import Account
from simap.web.auth import require, session_of
from simap.web.common import codebook_of, queue_rows, redirect, render
from simap.web.deps import hidden_of, spans_from, store_of, venture_filter

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Account, Depends(require("viewer"))]
Analyst = Annotated[Account, Depends(require("analyst"))]
MARK_FROM = 0.3  # machine evidence is highlighted in the text from this score (and when in the map)


def _safe_next(url: str | None) -> str:
    return url if url and url.startswith("/") and not url.startswith("//") else "/"


# -- first run and log-in ---------------------------------------------------------------------------
def has_users(request: Request) -> bool:
    """Whether the project has any user (a project without users shows the first-admin page)."""
    return bool(accounts.list_users(store_of(request)))


def shown_project(project: str) -> str:
    """The project as the ``-p`` of a command, never with a database password."""
    if "://" not in project:
        return project
    from sqlalchemy.engine import make_url

    url = make_url(project)
    if url.get_backend_name() == "sqlite" and url.database:
        return url.database
    return url.render_as_string(hide_password=True)


def _setup_ctx(request: Request, error: str | None = None) -> dict[str, Any]:
    project = shown_project(str(request.app.state.settings.project))
    return {"error": error, "command": f"simap users add NAME --role admin -p {project}"}


@router.get("/setup")
def setup_page(request: Request) -> Response:
    if has_users(request):
        return redirect("/login")
    return render(request, "setup.html", _setup_ctx(request))


@router.post("/setup")
async def setup(
    request: Request,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    password2: Annotated[str, Form()],
    display_name: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Create the first admin of a project without users, and log them in."""
    sessions = request.app.state.sessions
    if not sessions.csrf_ok(session_of(request).get("sid"), csrf_token):
        return render(
            request, "setup.html", _setup_ctx(request, "The form expired; try again."), status_code=403
        )
    if has_users(request):
        raise PermissionDenied(
            "this project has users already; the first admin is created only once.",
            hint="log in, or ask an admin to add you on the Users page",
        )
    if password != password2:
        return render(
            request, "setup.html", _setup_ctx(request, "The two passwords differ."), status_code=400
        )
    try:
        account = accounts.add_user(
            store_of(request),
            username.strip(),
            password,
            role="admin",
            display_name=display_name,
            actor="setup",
        )
    except SimapError as exc:
        return render(request, "setup.html", _setup_ctx(request, str(exc)), status_code=400)
    response = redirect("/")
    sessions.write(response, sessions.new(account.id))
    return response


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    if not has_users(request):
        return redirect("/setup")
    return render(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login")
async def login(
    request: Request,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    sessions = request.app.state.sessions
    if not sessions.csrf_ok(session_of(request).get("sid"), csrf_token):
        return render(
            request, "login.html", {"next": next, "error": "The form expired; try again."}, status_code=403
        )
    from simap.web import security

    wait = security.login_wait(request, username)
    if wait:
        refused = render(
            request, "login.html", {"next": next, "error": security.wait_message(wait)}, status_code=429
        )
        refused.headers["Retry-After"] = str(wait)
        return refused
    try:
        account = accounts.authenticate(store_of(request), username.strip(), password)
    except PermissionDenied as exc:
        security.login_failed(request, username)
        return render(request, "login.html", {"next": next, "error": exc.message}, status_code=403)
    security.login_succeeded(request, username)
    response = redirect(_safe_next(next))
    sessions.write(response, sessions.new(account.id))  # a fresh session id on log-in
    return response


@router.post("/logout")
def logout(request: Request, me: Viewer) -> Response:
    response = redirect("/login")
    request.app.state.sessions.clear(response)
    return response


# -- dashboard --------------------------------------------------------------------------------------
def glance(request: Request, me: Account, limit: int = 6) -> list[dict[str, Any]]:
    """Pooled agreement of each human coder with the machine, and of each coding set's pair."""
    store, book = store_of(request), codebook_of(request)
    hidden = hidden_of(request, me)
    names = reliability.coder_names(store)
    humans = [n for n in names if n != reliability.MACHINE and not n.startswith(reliability.GOLD)]
    pairs = [(reliability.MACHINE, h) for h in humans[:limit]] if reliability.MACHINE in names else []
    for s in blind.list_sets(store)[:limit]:
        if len(s.coders) >= 2:
            pairs.append((s.coders[0], s.coders[1]))
    out = []
    for a, b in pairs:
        try:
            rep = reliability.agreement(
                store, book, a, b, min_score=request.app.state.settings.min_score, hidden=hidden
            )
        except SimapError:
            continue
        out.append(
            {"a": a, "b": b, "n": rep.n_items, "kappa": rep.pooled["kappa"], "alpha": rep.pooled["alpha"]}
        )
    return out


@router.get("/")
def dashboard(request: Request, me: Viewer) -> Response:
    store, book = store_of(request), codebook_of(request)
    counts = browse.project_counts(store, book.ids())
    return render(
        request,
        "dashboard.html",
        {
            "counts": counts,
            "book": book,
            "glance": glance(request, me),
            "events": browse.recent_events(store, limit=12),
            "sets": blind.list_sets(store),
            "mine": [a for a in blind.my_assignments(store, me.username) if not a["done"]][:10],
            "stale": codebook_versions.staleness(store),
        },
    )


# -- ventures ---------------------------------------------------------------------------------------
def present_by_venture(page: browse.VenturePage, min_score: float) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for vid, code in sorted(actions.present_pairs(page.assignments, min_score=min_score)):
        out.setdefault(vid, []).append(code)
    return out


FACETS_TTL = 30.0  # seconds; the filter menus may lag new countries or coders by this much


def cached_facets(request: Request) -> dict[str, list[str]]:
    import time

    cache = request.app.state.facets_cache
    if not cache or time.monotonic() - cache["at"] > FACETS_TTL:
        cache.update(at=time.monotonic(), value=browse.facets(store_of(request)))
    return cache["value"]  # type: ignore[no-any-return]


@router.get("/ventures")
def venture_list(request: Request, me: Viewer) -> Response:
    store, book = store_of(request), codebook_of(request)
    params = dict(request.query_params)
    flt = venture_filter(params, book)
    page = browse.list_ventures(store, flt, hidden=hidden_of(request, me))
    decided = {r["venture_id"] for r in page.assignments if r["source"] == "human"}
    query = "&".join(f"{k}={quote(str(v))}" for k, v in params.items() if k != "page" and v)
    return render(
        request,
        "ventures.html",
        {
            "page": page,
            "flt": flt,
            "params": params,
            "query": query,
            "book": book,
            "facets": cached_facets(request),
            "present": present_by_venture(page, request.app.state.settings.min_score),
            "decided": decided,
            "kinds": sorted({c.kind for c in book.codes}),
        },
    )


@router.get("/ventures/{venture_id}")
def venture_page(request: Request, me: Viewer, queue: int = 0) -> Response:
    venture_id = request.path_params["venture_id"]
    store, book = store_of(request), codebook_of(request)
    view = actions.venture_view(
        store,
        book,
        venture_id,
        viewer=me.username,
        hidden=hidden_of(request, me),
        min_score=request.app.state.settings.min_score,
    )
    shown = [c for c in view.codes if c.present or c.my_evidence or (c.score or 0.0) >= MARK_FROM]
    evidence = [(c.code_id, ev) for c in shown for ev in c.evidence]
    blind_here = venture_id in blind.blind_ventures(store, hidden_of(request, me))
    can_undo = me.can("analyst") and actions.last_decision(store, me.username, venture_id) is not None
    return render(
        request,
        "venture.html",
        {
            "view": view,
            "book": book,
            "evidence": evidence,
            "quotes": distinct_quotes(view.codes),
            "queue": queue,
            "blind_here": blind_here,
            "can_undo": can_undo,
        },
    )


def distinct_quotes(codes: list[actions.CodeView], per_code: int = 3) -> dict[str, dict[str, Any]]:
    """Per code card: the evidence sentences not shown on an earlier card, and the earlier cards
    whose sentence it shares (so each distinct sentence is shown once)."""
    first: dict[tuple[str, str], str] = {}
    out: dict[str, dict[str, Any]] = {}
    for c in codes:
        new, same = [], []
        for ev in c.evidence[:per_code]:
            key = (str(ev.get("field", "")), " ".join(str(ev.get("text", "")).split()))
            if key in first:
                if first[key] not in same:
                    same.append(first[key])
                continue
            first[key] = c.code_id
            new.append(ev)
        out[c.code_id] = {"new": new, "same_as": same}
    return out


@router.post("/ventures/{venture_id}/undo")
async def undo(request: Request, me: Analyst, queue: Annotated[int, Form()] = 0) -> Response:
    venture_id = request.path_params["venture_id"]
    done = actions.undo_last(store_of(request), me.username, venture_id)
    suffix = "?queue=1" if queue else ""
    return redirect(f"/ventures/{quote(venture_id, safe='')}{suffix}#c-{quote(done['code_id'])}")


@router.post("/ventures/{venture_id}/decide")
async def decide(
    request: Request,
    me: Analyst,
    code_id: Annotated[str, Form()],
    action: Annotated[str, Form()],
    memo: Annotated[str | None, Form()] = None,
    field: Annotated[str | None, Form()] = None,
    start: Annotated[str | None, Form()] = None,
    end: Annotated[str | None, Form()] = None,
    queue: Annotated[int, Form()] = 0,
    base: Annotated[str | None, Form()] = None,
) -> Response:
    venture_id = request.path_params["venture_id"]
    store, book = store_of(request), codebook_of(request)
    memo = memo.strip() if memo and memo.strip() else None
    spans = spans_from(field, start, end)
    if action in ("accept", "reject"):
        actions.decide(
            store,
            book,
            venture_id=venture_id,
            code_id=code_id,
            user=me.username,
            status="accepted" if action == "accept" else "rejected",
            memo=memo,
            spans=spans,
            base=int(base) if base and base.strip().isdigit() else None,
        )
    elif action == "add":
        actions.add_code(store, book, venture_id, code_id, user=me.username, spans=spans, memo=memo)
    elif action == "span":
        actions.edit_span(store, book, venture_id, code_id, user=me.username, spans=spans)
    else:
        raise NotFound(f"there is no review action {action!r}; use accept, reject, add or span.")
    suffix = "?queue=1" if queue else ""
    return redirect(f"/ventures/{quote(venture_id, safe='')}{suffix}#c-{quote(code_id)}")


# -- review queue -----------------------------------------------------------------------------------
@router.get("/queue")
def queue_page(request: Request, me: Viewer) -> Response:
    return render(request, "queue.html", {"rows": queue_rows(request, me)})


SKIPS_KEPT = 500  # per user, in memory: ventures skipped with `n` are not offered again for a while


@router.get("/queue/next")
def queue_next(request: Request, me: Viewer, skip: str = "") -> Response:
    """The next venture to review; ``skip``: the venture being left undecided (`n`)."""
    skips: list[str] = request.app.state.__dict__.setdefault("skips", {}).setdefault(me.username, [])
    if skip:
        if skip in skips:
            skips.remove(skip)
        skips.append(skip)
        del skips[:-SKIPS_KEPT]
    rows = queue_rows(request, me, n=1, skip=set(skips))
    if not rows and skips:  # everything was skipped once: start over
        skips.clear()
        rows = [r for r in queue_rows(request, me, n=2) if r["venture_id"] != skip][:1]
    if not rows:
        return redirect("/queue")
    code = f"#c-{quote(rows[0]['code_id'])}" if rows[0]["code_id"] else ""
    return redirect(f"/ventures/{quote(rows[0]['venture_id'], safe='')}?queue=1{code}")
