"""Discovery in the workbench: run ``simap discover`` in the background, show the emerging themes
(terms, reach, example sentences) and promote chosen themes into the working codebook."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from simap.errors import InvalidInput, NotFound
from simap.store import browse, repo
from simap.store.accounts import Account
from simap.web.auth import require
from simap.web.common import codebook_of, recode_embedder, redirect, render
from simap.web.deps import store_of
from simap.web.jobs import DISCOVERY_SETTING

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Account, Depends(require("viewer"))]
Analyst = Annotated[Account, Depends(require("analyst"))]


def last_discovery(request: Request) -> Any:
    from simap.discover.candidates import Discovery
    from simap.discover.themes import Theme

    data = browse.get_setting(store_of(request), DISCOVERY_SETTING)
    if not data:
        return None
    data = dict(data)
    data["themes"] = [Theme(**t) for t in data.get("themes", [])]
    return Discovery(**data)


@router.get("/discover")
def discover_page(request: Request, me: Viewer) -> Response:
    found = last_discovery(request)
    candidates = {i: c for i, c in enumerate(found.candidates)} if found else {}
    return render(
        request, "discover.html", {"found": found, "candidates": candidates, "book": codebook_of(request)}
    )


@router.post("/discover/run")
async def discover_run(
    request: Request,
    me: Analyst,
    max_score: Annotated[float, Form(ge=0.0, le=1.0)] = 0.3,
    n_themes: Annotated[str, Form()] = "",
    min_ventures: Annotated[int, Form(ge=1)] = 3,
) -> Response:
    params: dict[str, Any] = {"max_score": max_score, "min_ventures": min_ventures}
    if n_themes.strip():
        if not n_themes.strip().isdigit() or int(n_themes) < 2:
            raise InvalidInput(f"the number of themes must be a whole number from 2; got {n_themes!r}.")
        params["n_themes"] = int(n_themes)
    job = request.app.state.jobs.submit_discover(
        me.username, embedder=recode_embedder(request), params=params
    )
    return redirect(f"/jobs/{job.id}")


@router.post("/discover/promote")
async def discover_promote(request: Request, me: Analyst) -> Response:
    """Add the ticked themes to the working codebook as a new version (then re-code)."""
    from simap.discover.candidates import promote
    from simap.review.codebook_versions import set_working

    form = await request.form()
    chosen = [str(v) for v in form.getlist("theme") if str(v).strip()]
    if not chosen:
        raise InvalidInput("tick at least one theme to promote.", field="theme")
    found = last_discovery(request)
    if found is None:
        raise NotFound("no discovery to promote from.", hint="run the discovery first")
    store, old = store_of(request), codebook_of(request)
    new = promote(old, found, chosen)
    version = repo.save_codebook(store, new, actor=me.username)
    set_working(store, version)
    with store.session() as session, session.begin():
        repo.log_event(
            session,
            actor=me.username,
            action="codebook_edited",
            entity="codebook",
            entity_id=version,
            before={"version": old.version, "codes": old.ids()},
            after={"version": version, "codes": new.ids(), "ops": [{"op": "promote", "themes": chosen}]},
        )
    return redirect("/codebook#versions")
