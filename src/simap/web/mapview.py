"""The map in the workbench: the same interactive views as ``simap report`` (issue 5).

``/map`` answers at once. When the map for the current state is cached it is the full report
(prevalence, principle x barrier links, geography, networks, quotes, methodology) with a
workbench bar on top: links back to the workbench, the min-score / accepted-only controls, and
the codebook version and model the suggestions were made with. Otherwise ``/map`` is a page that
shows the build's progress while a worker thread builds the report; it reloads when ready.

The cache is keyed by (working codebook version, coded codebook version, newest coding run,
decisions version = newest decision or import event, min score, accepted only), so any
decision, import or re-code builds a new map and nothing else does.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import escape

from simap.store.accounts import Account
from simap.web.auth import require
from simap.web.common import render
from simap.web.deps import store_of

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Account, Depends(require("viewer"))]
MinScore = Annotated[float, Query(ge=0.0, le=1.0)]
KEEP = 6  # maps kept in memory (several min-score / accepted-only views of the same state)
DECISION_ENTITIES = ("assignment", "venture")


@dataclass
class MapBuild:
    key: tuple[Any, ...]
    state: str = "building"  # building | ready | failed
    stage: str = "starting"
    started: float = field(default_factory=time.time)
    finished: float | None = None
    html: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        end = self.finished or time.time()
        return {
            "state": self.state,
            "stage": self.stage,
            "seconds": round(end - self.started, 1),
            "error": self.error,
        }


class MapCache:
    """Built maps by state key; one build per key at a time, in a worker thread."""

    def __init__(self) -> None:
        self.builds: dict[tuple[Any, ...], MapBuild] = {}
        self.lock = threading.Lock()

    def get_or_start(
        self, key: tuple[Any, ...], store: Any, min_score: float, accepted_only: bool
    ) -> MapBuild:
        with self.lock:
            build = self.builds.get(key)
            if build is not None and build.state != "failed":
                return build
            build = MapBuild(key)
            self.builds[key] = build
            for old in list(self.builds)[:-KEEP]:
                if self.builds[old].state != "building":
                    del self.builds[old]
        threading.Thread(
            target=self._build, args=(build, store, min_score, accepted_only), daemon=True, name="simap-map"
        ).start()
        return build

    def _build(self, build: MapBuild, store: Any, min_score: float, accepted_only: bool) -> None:
        from simap.pipeline import Project
        from simap.report.html import render_html_report
        from simap.report.sections import collect_report_data

        try:
            build.stage = "collecting the map, the texts and the review summary"
            data = collect_report_data(
                Project(store), min_score=min_score, include_suggestions=not accepted_only
            )
            build.meta = dict(data.meta or {})
            build.stage = "drawing the views"
            build.html = render_html_report(data.landscape, data.codebook, meta=data.meta, data=data)
            build.state, build.stage = "ready", "ready"
        except Exception as exc:  # shown on the page; the next visit tries again
            build.state, build.stage, build.error = "failed", "failed", f"{type(exc).__name__}: {exc}"
        finally:
            build.finished = time.time()


def cache_of(request: Request) -> MapCache:
    cache = getattr(request.app.state, "maps", None)
    if cache is None:
        cache = request.app.state.maps = MapCache()
    return cache


def state_key(request: Request, min_score: float, accepted_only: bool) -> tuple[Any, ...]:
    """(working codebook version, coded version, newest coding run, decisions version, view)."""
    from sqlalchemy import func, select

    from simap.review.codebook_versions import coded_version, working_version
    from simap.store.schema import Event, Run

    store = store_of(request)
    with store.engine.connect() as conn:
        run = conn.execute(select(func.max(Run.id)).where(Run.kind == "code", Run.status == "done")).scalar()
        decisions = conn.execute(
            select(func.max(Event.id)).where(Event.entity.in_(DECISION_ENTITIES))
        ).scalar()
    return (working_version(store), coded_version(store), run, decisions, round(min_score, 3), accepted_only)


BODY = re.compile(r"<body[^>]*>", re.IGNORECASE)


def workbench_bar(build: MapBuild, min_score: float, accepted_only: bool) -> str:
    """The bar put on top of the report: back to the workbench, view controls, provenance."""
    m = build.meta
    model = escape(m.get("model") or "no coding run")
    book = escape(f"{m.get('codebook', '?')}@{m.get('codebook_version', '?')}")
    run = f" · run {escape(m.get('run_id'))}" if m.get("run_id") else ""
    coded = f" · coded {escape(str(m.get('coded_at')).replace('T', ' '))}" if m.get("coded_at") else ""
    checked = " checked" if accepted_only else ""
    return (
        '<nav id="workbench-bar" style="display:flex;flex-wrap:wrap;gap:.8rem;align-items:center;'
        "padding:.5rem 1rem;background:#1d2330;color:#d9e2ef;font:14px system-ui,sans-serif;"
        'position:sticky;top:0;z-index:1000">'
        '<a href="/" style="color:#fff;font-weight:600;text-decoration:none">← simap workbench</a>'
        '<a href="/ventures" style="color:#d9e2ef">Ventures</a>'
        '<a href="/queue/next" style="color:#d9e2ef">Review</a>'
        '<a href="/codebook" style="color:#d9e2ef">Codebook</a>'
        '<form method="get" action="/map" style="display:flex;gap:.5rem;align-items:center;margin:0">'
        f'<label>min score <input type="number" name="min_score" min="0" max="1" step="0.05" '
        f'value="{min_score:g}" style="width:4.5rem"></label>'
        f'<label><input type="checkbox" name="accepted_only" value="true"{checked}> accepted only</label>'
        "<button>Apply</button></form>"
        f'<span id="map-provenance" style="margin-left:auto">codebook <code>{book}</code> · model '
        f"<code>{model}</code>{run}{coded} · built in {build.to_dict()['seconds']} s</span></nav>"
    )


def with_bar(build: MapBuild, min_score: float, accepted_only: bool) -> str:
    bar = workbench_bar(build, min_score, accepted_only)
    match = BODY.search(build.html)
    if match is None:
        return bar + build.html
    return build.html[: match.end()] + bar + build.html[match.end() :]


@router.get("/map")
def map_page(
    request: Request, account: Viewer, min_score: MinScore = 0.5, accepted_only: bool = False
) -> Response:
    key = state_key(request, min_score, accepted_only)
    build = cache_of(request).get_or_start(key, store_of(request), min_score, accepted_only)
    if build.state == "ready":
        return HTMLResponse(with_bar(build, min_score, accepted_only))
    return render(
        request,
        "map_building.html",
        {"build": build, "min_score": min_score, "accepted_only": accepted_only},
        status_code=200,
    )


@router.get("/map/status")
def map_status(
    request: Request, account: Viewer, min_score: MinScore = 0.5, accepted_only: bool = False
) -> dict[str, Any]:
    """The build of the map for the current state (the building page polls it)."""
    key = state_key(request, min_score, accepted_only)
    build = cache_of(request).get_or_start(key, store_of(request), min_score, accepted_only)
    return build.to_dict()
