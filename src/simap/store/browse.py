"""Read queries of the review workbench: the venture list with search and filters, one venture's
texts and assignments, project counts, project settings.

Everything here is one SQL query or a few, so pages stay fast on large projects: the list pages
in SQL (LIMIT/OFFSET, along the ``ventures (name, id)`` index) and the venture page reads only that
venture's rows. The text search uses the full-text indexes of migration 0003: SQLite FTS5
(``ventures_fts`` over ids and names, ``documents_fts`` over texts) or PostgreSQL ``tsvector``
expression indexes; each word of the query must match a venture's id, name or one of its texts as
a whole word (a phrase when it has several tokens, e.g. ``covid-19``), the last word also as a
prefix (``farm`` finds ``farmers``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import (
    and_,
    column,
    exists,
    false,
    func,
    literal_column,
    not_,
    or_,
    select,
    table,
    true,
    union,
)

from simap.batches import ASSIGNMENT_COLUMNS
from simap.errors import InvalidInput, NotFound, expected
from simap.store import repo
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
MAX_PAGE = 1_000_000  # beyond it an offset would overflow the database integer
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
    country_ids: Sequence[str] | None = None  # the ventures naming ``country``, set by list_ventures

    def check(self) -> VentureFilter:
        if self.status and self.status not in STATUSES:
            raise InvalidInput(expected("status", f"one of {list(STATUSES)}", self.status), field="status")
        for name in ("min_score", "max_score"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise InvalidInput(expected(name, "a number between 0 and 1", value), field=name)
        if not 1 <= self.page <= MAX_PAGE:
            raise InvalidInput(expected("page", f"between 1 and {MAX_PAGE}", self.page), field="page")
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


_TOKEN = re.compile(r"[^\W_]+")  # what the full-text tokenizers index: runs of letters and digits
# SQLite: the FTS5 tables of migration 0003
_VENTURES_FTS = table("ventures_fts", column("rowid"), column("id"))
_DOCUMENTS_FTS = table("documents_fts", column("rowid"))
# PostgreSQL: literals (not parameters), so the planner matches the expression indexes of 0003
_PG_CONFIG: Any = literal_column("'simple'::regconfig")
_PG_VENTURES = Venture.__table__.alias("vs")  # not correlated with the outer ventures
_PG_VENTURE_TEXT: Any = literal_column("(vs.id::text || ' '::text) || vs.name")


def _like_term(term: str) -> Any:
    """Substring match of one word (databases without full-text search; words without letters)."""
    like = f"%{_escape_like(term)}%"
    in_text = exists().where(Document.venture_id == Venture.id, Document.text.ilike(like, escape="\\"))
    return or_(Venture.name.ilike(like, escape="\\"), Venture.id.ilike(like, escape="\\"), in_text)


def _search_term(dialect: str, term: str, *, prefix: bool) -> Any:
    """A WHERE clause: ``term`` is in the venture's id or name or in one of its texts."""
    tokens = _TOKEN.findall(term)
    if not tokens or dialect not in ("sqlite", "postgresql"):
        return _like_term(term)
    if dialect == "sqlite":
        # a quoted FTS5 string is tokenized like the text (a phrase); "..."* makes its last token a prefix
        match = '"' + " ".join(tokens) + '"' + ("*" if prefix else "")
        in_names = select(_VENTURES_FTS.c.id).where(literal_column("ventures_fts").op("MATCH")(match))
        doc_ids = select(_DOCUMENTS_FTS.c.rowid).where(literal_column("documents_fts").op("MATCH")(match))
        in_texts = select(Document.venture_id).where(Document.id.in_(doc_ids))
    else:
        if prefix and len(tokens) == 1:
            tsq = func.to_tsquery(_PG_CONFIG, f"'{tokens[0]}':*")
        else:
            tsq = func.plainto_tsquery(_PG_CONFIG, term)  # parsed like the texts (e.g. covid-19)
        in_names = select(_PG_VENTURES.c.id).where(
            func.to_tsvector(_PG_CONFIG, _PG_VENTURE_TEXT).op("@@")(tsq)
        )
        in_texts = select(Document.venture_id).where(
            func.to_tsvector(_PG_CONFIG, Document.text).op("@@")(tsq)
        )
    # one id set per word, each side found through its own full-text index
    return Venture.id.in_(union(in_names, in_texts))


def _filtered(q: Any, flt: VentureFilter, hidden: Hidden | None, dialect: str = "") -> Any:
    terms = flt.q.split()
    for i, term in enumerate(terms):
        q = q.where(_search_term(dialect, term, prefix=i == len(terms) - 1))
    if flt.country:
        q = q.where(Venture.id.in_(flt.country_ids) if flt.country_ids is not None else false())
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
    """One page of ventures (by name) matching the filter, with their visible assignments.

    Unfiltered, the page is a range of the ``ventures (name, id)`` index and the total a plain
    count. Filtered, the database collects the matching ids from the full-text and assignment
    indexes and sorts them, so ``count(*) OVER ()`` gives the total from that same pass.
    """
    flt.check()
    if flt.country and flt.country_ids is None:
        flt.country_ids = country_ventures(store, flt.country)
    dialect = store.engine.dialect.name
    filtered = bool(flt.q or flt.country or flt.sector or flt.filters_assignments)
    cols: list[Any] = [Venture.id, Venture.name, Venture.country, Venture.sector, Venture.year]
    if filtered:
        cols.append(func.count().over().label("_total"))
    q = _filtered(select(*cols), flt, hidden, dialect).order_by(Venture.name, Venture.id)
    q = q.limit(flt.per_page).offset((flt.page - 1) * flt.per_page)
    with store.engine.connect() as conn:
        result = conn.execute(q)
        keys = list(result.keys())
        rows = [dict(zip(keys, r, strict=True)) for r in result]
        if rows and filtered:
            total = int(rows[0]["_total"])
        elif flt.page == 1 and len(rows) < flt.per_page:
            total = len(rows)
        else:  # unfiltered, or a page past the end
            count_q = _filtered(select(func.count()).select_from(Venture), flt, hidden, dialect)
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
        result = conn.execute(q.order_by(Assignment.id))
        keys = list(result.keys())
        return [dict(zip(keys, r, strict=True)) for r in result]


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


_MEMBERS_CACHE: dict[str, tuple[Any, dict[str, set[str]]]] = {}


def country_members(store: Store) -> dict[str, set[str]]:
    """Country (as the map names it) -> ids of the ventures that name it. Counted like the map
    (:func:`simap.maps.geo.country_table`): a venture naming several countries
    (``metadata["countries"]``) is in each, names are normalised ("KEN", "Republic of Kenya" and
    "Kenya" are one country); names that match no country are kept as written.

    Cached per project until a venture is added or changed (count and newest ``updated_at``)."""
    with store.engine.connect() as conn:
        stamp = tuple(conn.execute(select(func.count(), func.max(Venture.updated_at))).one())
        cached = _MEMBERS_CACHE.get(store.url)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        rows = conn.execute(
            select(Venture.id, Venture.country, Venture.meta["countries"]).where(
                or_(Venture.country.is_not(None), Venture.meta["countries"].is_not(None))
            )
        ).all()
    out = _members(rows)
    _MEMBERS_CACHE[store.url] = (stamp, out)
    return out


def _members(rows: Sequence[Any]) -> dict[str, set[str]]:
    from simap.maps.geo import UNKNOWN, country_table

    groups: dict[str, list[str]] = {}  # the same country data -> its ventures (normalised once)
    firsts: dict[str, dict[str, Any]] = {}
    for vid, country, names in rows:
        if not country and not names:
            continue
        key = repr((country, names))
        if key not in groups:
            groups[key] = []
            firsts[key] = {"id": key, "country": country, "metadata": {"countries": names} if names else {}}
        groups[key].append(str(vid))
    out: dict[str, set[str]] = {}
    if not groups:
        return out
    table_ = country_table(pd.DataFrame(list(firsts.values())))
    for key, raw, name in zip(table_["venture_id"], table_["raw"], table_["country"], strict=True):
        if raw is None:
            continue
        out.setdefault(str(raw) if name == UNKNOWN else str(name), set()).update(groups[key])
    return out


def country_ventures(store: Store, country: str) -> list[str]:
    """Ids of the ventures that name ``country`` (see :func:`country_members`)."""
    from simap.maps.geo import normalise_country

    members = country_members(store)
    found = normalise_country(country)
    key = found.name if found is not None and found.name in members else country.strip()
    return sorted(members.get(key, set()))


def facets(store: Store) -> dict[str, list[str]]:
    """Distinct countries (as the map names them), sectors and coders, for the filter menus."""
    countries = list(country_members(store))
    with store.engine.connect() as conn:
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
        select(*repo.EVENT_FIELDS)
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
    # a Core query: every page reads the working codebook's version, an ORM session costs more
    with store.engine.connect() as conn:
        value = conn.execute(select(ProjectSetting.value).where(ProjectSetting.key == key)).scalar()
    return dict(value) if value is not None else None


def put_setting(store: Store, key: str, value: dict[str, Any]) -> None:
    with store.session() as session, session.begin():
        row = session.get(ProjectSetting, key)
        if row is None:
            session.add(ProjectSetting(key=key, value=value))
        else:
            row.value = value
