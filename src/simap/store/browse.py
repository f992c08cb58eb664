"""Read queries of the review workbench: the venture list with search and filters, one venture's
texts and assignments, project counts, project settings.

Everything here is one SQL query or a few, so pages stay fast on large projects: the list pages
in SQL (LIMIT/OFFSET) and the venture page reads only that venture's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import and_, exists, func, not_, or_, select, true

from simap.batches import ASSIGNMENT_COLUMNS
from simap.errors import InvalidInput, NotFound, expected
from simap.store.db import Store
from simap.store.schema import (
    Assignment,
    CodingSetItem,
    Document,
    Event,
    ProjectSetting,
    Run,
    Venture,
)

STATUSES = ("suggested", "accepted", "rejected")
MAX_PER_PAGE = 200


@dataclass(frozen=True)
class Hidden:
    """What a blind coder must not see: other coders' rows on the ventures of their blind sets."""

    username: str
    set_ids: tuple[int, ...] = ()
    machine_set_ids: tuple[int, ...] = ()  # the blind sets that also hide machine suggestions

    @property
    def empty(self) -> bool:
        return not self.set_ids


@dataclass
class VentureFilter:
    q: str = ""
    code: str = ""
    codes_of_kind: Sequence[str] | None = None  # resolved from the codebook by the caller
    status: str = ""
    country: str = ""
    sector: str = ""
    coder: str = ""
    min_score: float | None = None
    max_score: float | None = None
    page: int = 1
    per_page: int = 50

    def check(self) -> VentureFilter:
        if self.status and self.status not in STATUSES:
            raise InvalidInput(expected("status", f"one of {list(STATUSES)}", self.status), field="status")
        for name in ("min_score", "max_score"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise InvalidInput(expected(name, "a number between 0 and 1", value), field=name)
        if self.page < 1:
            raise InvalidInput(expected("page", "1 or more", self.page), field="page")
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise InvalidInput(expected("per_page", f"between 1 and {MAX_PER_PAGE}", self.per_page))
        return self

    @property
    def filters_assignments(self) -> bool:
        return bool(
            self.code
            or self.codes_of_kind is not None
            or self.status
            or self.coder
            or self.min_score is not None
            or self.max_score is not None
        )


@dataclass
class VenturePage:
    rows: list[dict[str, Any]]
    total: int
    page: int
    per_page: int
    assignments: list[dict[str, Any]] = field(default_factory=list)  # visible rows of the page's ventures

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _visible(hidden: Hidden | None) -> Any:
    """A WHERE clause over Assignment keeping what ``hidden.username`` may see."""
    if hidden is None or hidden.empty:
        return None
    blind_items = select(CodingSetItem.venture_id).where(CodingSetItem.set_id.in_(hidden.set_ids))
    others_human = and_(Assignment.source == "human", Assignment.coder != hidden.username)
    clause = not_(and_(Assignment.venture_id.in_(blind_items), others_human))
    if hidden.machine_set_ids:
        machine_items = select(CodingSetItem.venture_id).where(
            CodingSetItem.set_id.in_(hidden.machine_set_ids)
        )
        clause = and_(
            clause, not_(and_(Assignment.venture_id.in_(machine_items), Assignment.source == "machine"))
        )
    return clause


def _filtered(q: Any, flt: VentureFilter, hidden: Hidden | None) -> Any:
    for term in flt.q.split():
        like = f"%{term}%"
        in_text = exists().where(Document.venture_id == Venture.id, Document.text.ilike(like))
        q = q.where(or_(Venture.name.ilike(like), Venture.id.ilike(like), in_text))
    if flt.country:
        q = q.where(Venture.country == flt.country)
    if flt.sector:
        q = q.where(Venture.sector == flt.sector)
    if flt.filters_assignments:
        conds: list[Any] = []
        if flt.code:
            conds.append(Assignment.code_id == flt.code)
        if flt.codes_of_kind is not None:
            conds.append(Assignment.code_id.in_(list(flt.codes_of_kind)))
        if flt.status:
            conds.append(Assignment.status == flt.status)
        if flt.coder:
            conds.append(Assignment.coder == flt.coder)
        if flt.min_score is not None:
            conds.append(Assignment.score >= flt.min_score)
        if flt.max_score is not None:
            conds.append(Assignment.score <= flt.max_score)
        visible = _visible(hidden)
        if visible is not None:
            conds.append(visible)
        # IN (subquery) lets the database use the code/coder indexes once instead of per venture
        q = q.where(Venture.id.in_(select(Assignment.venture_id).where(*conds)))
    return q


def list_ventures(store: Store, flt: VentureFilter, *, hidden: Hidden | None = None) -> VenturePage:
    """One page of ventures (by name) matching the filter, with their visible assignments."""
    flt.check()
    filtered = bool(flt.q or flt.country or flt.sector or flt.filters_assignments)
    cols: list[Any] = [Venture.id, Venture.name, Venture.country, Venture.sector, Venture.year]
    if filtered:  # one scan gives the page and the total
        cols.append(func.count().over().label("_total"))
    q = _filtered(select(*cols), flt, hidden).order_by(Venture.name, Venture.id)
    q = q.limit(flt.per_page).offset((flt.page - 1) * flt.per_page)
    with store.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(q)]
        if rows and filtered:
            total = int(rows[0]["_total"])
        else:
            count_q = _filtered(select(func.count()).select_from(Venture), flt, hidden)
            total = int(conn.execute(count_q).scalar_one())
    for r in rows:
        r.pop("_total", None)
    ids = [r["id"] for r in rows]
    return VenturePage(
        rows, total, flt.page, flt.per_page, assignment_rows(store, ids, hidden=hidden, details=False)
    )


def assignment_rows(
    store: Store, ids: Sequence[str], *, hidden: Hidden | None = None, details: bool = True
) -> list[dict[str, Any]]:
    """Assignment rows of these ventures that the viewer may see, oldest first.

    Keys: venture_id, code_id, source, coder, score, status, and with ``details`` also
    evidence, memo and updated_at.
    """
    if not ids:
        return []
    cols: list[Any] = [
        Assignment.venture_id,
        Assignment.code_id,
        Assignment.source,
        Assignment.coder,
        Assignment.score,
        Assignment.status,
    ]
    if details:
        cols += [Assignment.evidence, Assignment.memo, Assignment.updated_at]
    q = select(*cols).where(Assignment.venture_id.in_(list(ids)))
    visible = _visible(hidden)
    if visible is not None:
        q = q.where(visible)
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q.order_by(Assignment.id))]


def venture_assignments(store: Store, ids: Sequence[str], *, hidden: Hidden | None = None) -> pd.DataFrame:
    """ASSIGNMENTS rows (plus memo, updated_at) of these ventures that the viewer may see."""
    cols = [*ASSIGNMENT_COLUMNS, "memo", "updated_at"]
    frame = pd.DataFrame(assignment_rows(store, ids, hidden=hidden), columns=[c for c in cols if c != "kind"])
    frame.insert(2, "kind", None)
    return frame[cols]


def get_venture(store: Store, venture_id: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """A venture's record and its documents as (field, text), in import order."""
    with store.engine.connect() as conn:
        row = conn.execute(
            select(
                Venture.id,
                Venture.name,
                Venture.country,
                Venture.sector,
                Venture.year,
                Venture.source,
                Venture.meta.label("meta"),
            ).where(Venture.id == venture_id)
        ).first()
        if row is None:
            raise NotFound(f"venture {venture_id!r} is not in this project.", hint="search the venture list")
        docs = conn.execute(
            select(Document.field, Document.text)
            .where(Document.venture_id == venture_id)
            .order_by(Document.id)
        ).all()
    m = row._mapping
    venture = {k: m[k] for k in ("id", "name", "country", "sector", "year", "source")} | {
        "metadata": m["meta"] or {}
    }
    return venture, [(f, t) for f, t in docs]


def venture_names(store: Store, ids: Sequence[str]) -> dict[str, str]:
    if not ids:
        return {}
    with store.engine.connect() as conn:
        rows = conn.execute(select(Venture.id, Venture.name).where(Venture.id.in_(list(ids)))).all()
    return {str(i): str(n) for i, n in rows}


def facets(store: Store) -> dict[str, list[str]]:
    """Distinct countries, sectors and coders, for the filter menus."""
    with store.engine.connect() as conn:
        countries = conn.execute(
            select(Venture.country).where(Venture.country.is_not(None)).distinct()
        ).scalars()
        sectors = conn.execute(select(Venture.sector).where(Venture.sector.is_not(None)).distinct()).scalars()
        coders = conn.execute(select(Assignment.coder).distinct()).scalars()
        return {
            "countries": sorted(str(c) for c in countries),
            "sectors": sorted(str(s) for s in sectors),
            "coders": sorted(coders),
        }


def venture_events(store: Store, venture_id: str, *, limit: int = 200) -> list[dict[str, Any]]:
    """Events about a venture: its own (import) and those of its codes (``<venture>:<code>``)."""
    q = (
        select(
            Event.id,
            Event.ts,
            Event.actor,
            Event.action,
            Event.entity,
            Event.entity_id,
            Event.before,
            Event.after,
        )
        .where(
            or_(
                Event.entity_id == venture_id,
                Event.entity_id.like(f"{_escape_like(venture_id)}:%", escape="\\"),
            )
        )
        .order_by(Event.id.desc())
        .limit(limit)
    )
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def recent_events(store: Store, *, limit: int = 10) -> list[dict[str, Any]]:
    q = (
        select(Event.id, Event.ts, Event.actor, Event.action, Event.entity_id)
        .order_by(Event.id.desc())
        .limit(limit)
    )
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def project_counts(store: Store, code_ids: Sequence[str] | None = None) -> dict[str, int]:
    """Counts for the dashboard: ventures, suggestions, decisions, reviewed ventures."""
    with store.engine.connect() as conn:

        def one(q: Any) -> int:
            return int(conn.execute(q).scalar_one() or 0)

        scope: Any = Assignment.code_id.in_(list(code_ids)) if code_ids is not None else true()
        human = and_(Assignment.source == "human", scope)
        return {
            "ventures": one(select(func.count()).select_from(Venture)),
            "documents": one(select(func.count()).select_from(Document)),
            "suggestions": one(select(func.count()).where(Assignment.source == "machine", scope)),
            "accepted": one(select(func.count()).where(human, Assignment.status == "accepted")),
            "rejected": one(select(func.count()).where(human, Assignment.status == "rejected")),
            "reviewed": one(select(func.count(Assignment.venture_id.distinct())).where(human)),
            "coders": one(
                select(func.count(Assignment.coder.distinct())).where(Assignment.source == "human")
            ),
            "runs": one(
                select(func.count()).select_from(Run).where(Run.kind == "code", Run.status == "done")
            ),
        }


def latest_machine_coder(store: Store) -> str | None:
    """The coder key of the newest finished coding run (the machine's suggestions to compare)."""
    with store.engine.connect() as conn:
        return conn.execute(
            select(Run.model).where(Run.kind == "code", Run.status == "done").order_by(Run.id.desc()).limit(1)
        ).scalar_one_or_none()


# -- project settings -----------------------------------------------------------------------------
def get_setting(store: Store, key: str) -> dict[str, Any] | None:
    with store.session() as session:
        row = session.get(ProjectSetting, key)
        return dict(row.value) if row is not None else None


def put_setting(store: Store, key: str, value: dict[str, Any]) -> None:
    with store.session() as session, session.begin():
        row = session.get(ProjectSetting, key)
        if row is None:
            session.add(ProjectSetting(key=key, value=value))
        else:
            row.value = value
