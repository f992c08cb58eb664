"""The map in the workbench: the same interactive views as ``simap report`` (issue 5).

``/map`` renders the full report (prevalence, principle x barrier links, geography, networks,
emerging themes if a discovery file is given to the CLI, quotes, methodology) for the current
state of the project; it is cached until the next change (a new event or coding run).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from simap.store.accounts import Account
from simap.web.auth import require
from simap.web.deps import store_of

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Account, Depends(require("viewer"))]


def _state_key(request: Request) -> tuple[object, ...]:
    from sqlalchemy import func, select

    from simap.store.schema import Event, Run

    with store_of(request).engine.connect() as conn:
        return (
            conn.execute(select(func.max(Event.id))).scalar(),
            conn.execute(select(func.max(Run.id))).scalar(),
        )


@router.get("/map", response_class=HTMLResponse)
def map_page(
    request: Request,
    account: Viewer,
    min_score: Annotated[float, Query(ge=0.0, le=1.0)] = 0.5,
    accepted_only: bool = False,
) -> HTMLResponse:
    from simap.pipeline import Project
    from simap.report.html import render_html_report
    from simap.report.sections import collect_report_data

    key = (_state_key(request), min_score, accepted_only)
    cache = getattr(request.app.state, "map_cache", None)
    if cache is None or cache[0] != key:
        data = collect_report_data(
            Project(store_of(request)), min_score=min_score, include_suggestions=not accepted_only
        )
        cache = (key, render_html_report(data.landscape, data.codebook, data=data))
        request.app.state.map_cache = cache
    return HTMLResponse(cache[1])
