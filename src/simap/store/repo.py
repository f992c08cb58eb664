"""Reading and writing project data as batches (DataFrames), one transaction per call."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, delete, false, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from simap.batches import ASSIGNMENT_COLUMNS, SEGMENT_COLUMNS, VENTURE_COLUMNS, IngestBatch
from simap.codebook.schema import Codebook
from simap.errors import Conflict, InvalidInput, NotFound
from simap.store.db import Store
from simap.store.schema import (
    Assignment,
    CodebookVersion,
    Document,
    EmbeddingRow,
    Event,
    Run,
    Segment,
    Venture,
    utcnow,
)

CHUNK = 500


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _upsert(
    conn: Connection | Session,
    table: Any,
    rows: list[dict[str, Any]],
    keys: list[str],
    update_cols: list[str],
) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE for SQLite and PostgreSQL, as one executemany."""
    if not rows:
        return
    dialect = conn.bind.dialect.name if isinstance(conn, Session) else conn.dialect.name  # type: ignore[union-attr]
    ins_mod: Any = postgresql if dialect == "postgresql" else sqlite
    stmt = ins_mod.insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=keys, set_={c: getattr(stmt.excluded, c) for c in update_cols}
    )
    for chunk in _chunks(rows, 5000):
        conn.execute(stmt, list(chunk))


def _upsert_columns(
    conn: Connection | Session,
    table: Any,
    columns: dict[str, Sequence[Any]],
    keys: list[str],
    update_cols: list[str],
    *,
    stored: frozenset[str] = frozenset(),
) -> None:
    """:func:`_upsert` of rows given column-wise (equal-length sequences of Python values).

    ``stored``: columns whose values are already in SQLite's stored form (e.g. JSON text).

    On SQLite the values go through each column type's own bind processor, a column at a time,
    and straight to the driver's executemany: the same stored values as :func:`_upsert`, without
    SQLAlchemy's per-row parameter handling (a third of the time of storing a coding batch).
    Other databases take the :func:`_upsert` path.
    """
    names = list(columns)
    n = len(columns[names[0]]) if names else 0
    if n == 0:
        return
    bind = conn.bind if isinstance(conn, Session) else conn
    dialect = bind.dialect  # type: ignore[union-attr]
    if dialect.name != "sqlite":
        if stored:
            raise InvalidInput(
                f"columns in stored form ({sorted(stored)}) are for SQLite only; got {dialect.name}."
            )
        rows = [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]
        _upsert(conn, table, rows, keys, update_cols)
        return
    processed = []
    for name in names:
        values = columns[name]
        proc = None if name in stored else table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if proc is None:
            processed.append(list(values))
            continue
        done: dict[int, Any] = {}  # by identity: a value shared by many rows (a timestamp) is processed once
        column = []
        for v in values:
            key = id(v)
            if key not in done:
                done[key] = None if v is None else proc(v)
            column.append(done[key])
        processed.append(column)
    quote = dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in names)}) "
        f"VALUES ({', '.join('?' for _ in names)}) "
        f"ON CONFLICT ({', '.join(quote(k) for k in keys)}) DO UPDATE SET "
        + ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in update_cols)
    )
    connection = conn.connection() if isinstance(conn, Session) else conn
    tuples: list[Any] = list(zip(*processed, strict=True))
    for chunk in _chunks(tuples, 5000):
        connection.exec_driver_sql(sql, list(chunk))


def log_event(
    conn: Connection | Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    run_id: int | None = None,
) -> None:
    conn.execute(
        insert(Event).values(
            ts=utcnow(),
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=before,
            after=after,
            run_id=run_id,
        )
    )


# -- ventures and texts ---------------------------------------------------------------------
@dataclass
class ImportStats:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    documents: int = 0
    segments: int = 0
    skipped: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


def _clean(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.integer):
        return int(value)
    return value


def upsert_ventures(
    store: Store, batch: IngestBatch, segments: pd.DataFrame, *, actor: str, source: str
) -> ImportStats:
    """Insert or update ventures with their documents and segments, in ONE transaction.

    A document whose text did not change keeps its segments (and the evidence pointing into it);
    a changed document is replaced with its new segments. For inputs too large for memory use
    :func:`import_writer` and write chunk by chunk.
    """
    with import_writer(store, actor=actor, source=source) as writer:
        writer.write(batch, segments)
    return writer.stats


SEEN_TABLE = "simap_import_seen"


def _table(model: Any) -> Any:
    """The Core table of an ORM model (Core inserts skip the ORM's per-row bookkeeping)."""
    return model.__table__


class DbSeenIds:
    """The ids an import accepted so far, in a temporary table of the import's own connection
    (so a 1M-row import does not keep 1M ids in memory); implements ``simap.ingest.SeenIds``."""

    def __init__(self, session: Session) -> None:
        self.session = session
        session.execute(text(f"DROP TABLE IF EXISTS {SEEN_TABLE}"))
        session.execute(
            text(f"CREATE TEMPORARY TABLE {SEEN_TABLE} (id TEXT PRIMARY KEY, path TEXT, line INTEGER)")
        )
        self._paths: dict[str, int] = {}

    def first_seen(self, ids: Sequence[str]) -> dict[str, tuple[str, int | None]]:
        out: dict[str, tuple[str, int | None]] = {}
        for chunk in _chunks(list(ids)):
            params = {f"i{n}": v for n, v in enumerate(chunk)}
            names = ", ".join(f":{k}" for k in params)
            q = text(f"SELECT id, path, line FROM {SEEN_TABLE} WHERE id IN ({names})")
            for vid, path, line in self.session.execute(q, params):
                out[str(vid)] = (str(path), None if line is None else int(line))
        return out

    def add(self, rows: Sequence[tuple[str, str, int | None]]) -> None:
        if rows:
            q = text(f"INSERT INTO {SEEN_TABLE} (id, path, line) VALUES (:id, :path, :line)")
            self.session.execute(q, [{"id": v, "path": p, "line": ln} for v, p, ln in rows])

    def drop(self) -> None:
        self.session.execute(text(f"DROP TABLE IF EXISTS {SEEN_TABLE}"))


class ImportWriter:
    """Writes an import chunk by chunk inside ONE transaction (see :func:`import_writer`).

    ``seen`` keeps the accepted ids for duplicate detection across chunks; ``session`` is the
    import's session (read the state before the import through it: ids are unique within one
    import, so a chunk never sees its own writes); ``stats`` add up over the chunks.
    """

    def __init__(self, session: Session, *, actor: str, source: str) -> None:
        self.session = session
        self.actor = actor
        self.source = source
        self.now = utcnow()
        self.stats = ImportStats()
        self._seen: DbSeenIds | None = None

    @property
    def seen(self) -> DbSeenIds:
        if self._seen is None:
            self._seen = DbSeenIds(self.session)
        return self._seen

    def write(self, batch: IngestBatch, segments: pd.DataFrame) -> None:
        """Upsert one chunk of ventures with their documents and segments."""
        session, stats, now = self.session, self.stats, self.now
        conn = session.connection()  # Core inserts: the ORM bulk path costs more than SQLite itself
        stats.skipped.extend(str(s) for s in batch.skipped)
        ventures = batch.ventures
        ids = [str(v) for v in ventures["id"].tolist()]
        if not ids:
            return
        id_set = set(ids)
        existing: dict[str, dict[str, Any]] = {}
        old_docs: dict[tuple[str, str], tuple[int, str]] = {}
        for chunk in _chunks(ids):
            q = select(Venture.id, Venture.name, Venture.country, Venture.sector, Venture.year)
            for vid, name, country, sector, year in session.execute(q.where(Venture.id.in_(chunk))):
                existing[vid] = {"name": name, "country": country, "sector": sector, "year": year}
            dq = select(Document.id, Document.venture_id, Document.field, Document.text_hash)
            for doc_id, vid, fld, h in session.execute(dq.where(Document.venture_id.in_(chunk))):
                old_docs[(vid, fld)] = (doc_id, h)

        vrows = [
            {
                "id": str(rec["id"]),
                "name": str(rec.get("name") or rec["id"]),
                "country": _clean(rec.get("country")),
                "sector": _clean(rec.get("sector")),
                "year": _clean(rec.get("year")),
                "metadata": rec.get("metadata") or {},
                "source": _clean(rec.get("source")),
                "created_at": now,
                "updated_at": now,
            }
            for rec in ventures.to_dict("records")
        ]
        _upsert(
            session,
            Venture.__table__,
            vrows,
            ["id"],
            ["name", "country", "sector", "year", "metadata", "source", "updated_at"],
        )

        new_docs: list[dict[str, Any]] = []
        changed_ids: set[str] = set()
        stale_doc_ids: list[int] = []
        for vid, fld, body in zip(
            batch.documents["venture_id"], batch.documents["field"], batch.documents["text"], strict=True
        ):
            key = (str(vid), str(fld))
            h = sha1(body)
            old = old_docs.pop(key, None)
            if old is not None and old[1] == h:
                continue
            if old is not None:
                stale_doc_ids.append(old[0])
            changed_ids.add(key[0])
            new_docs.append({"venture_id": key[0], "field": key[1], "text": body, "text_hash": h})
        # documents of re-imported ventures whose field no longer exists
        for (vid, _fld), (doc_id, _h) in old_docs.items():
            if vid in id_set:
                stale_doc_ids.append(doc_id)
                changed_ids.add(vid)
        for chunk in _chunks(stale_doc_ids):
            session.execute(delete(Segment).where(Segment.document_id.in_(chunk)))
            session.execute(delete(Document).where(Document.id.in_(chunk)))
        doc_ids: dict[tuple[str, str], int] = {}
        for chunk in _chunks(new_docs):
            doc: Any = Document.__table__
            result = conn.execute(insert(doc).returning(doc.c.id, doc.c.venture_id, doc.c.field), list(chunk))
            for doc_id, vid, fld in result:
                doc_ids[(vid, fld)] = doc_id
        stats.documents += len(new_docs)
        if len(segments) and doc_ids:
            seg_rows = [
                {
                    "document_id": doc_ids[(v, f)],
                    "venture_id": v,
                    "field": f,
                    "seq": int(q),
                    "start": int(a),
                    "end": int(b),
                    "text": t,
                }
                for v, f, q, a, b, t in zip(
                    segments["venture_id"],
                    segments["field"],
                    segments["seq"],
                    segments["start"],
                    segments["end"],
                    segments["text"],
                    strict=True,
                )
                if (v, f) in doc_ids
            ]
            for chunk in _chunks(seg_rows, 2000):
                conn.execute(insert(_table(Segment)), list(chunk))
            stats.segments += len(seg_rows)

        events = []
        for v in vrows:
            before = existing.get(v["id"])
            after = {"name": v["name"], "country": v["country"], "sector": v["sector"], "year": v["year"]}
            if before is None:
                stats.created += 1
                action = "venture_created"
            elif v["id"] in changed_ids or any(before.get(k) != after[k] for k in after):
                stats.updated += 1
                action = "venture_updated"
                before = {k: before.get(k) for k in after}
            else:
                stats.unchanged += 1
                continue
            events.append(
                {
                    "ts": now,
                    "actor": self.actor,
                    "action": action,
                    "entity": "venture",
                    "entity_id": v["id"],
                    "before": before,
                    "after": after,
                }
            )
        for chunk in _chunks(events, 2000):
            conn.execute(insert(_table(Event)), list(chunk))

    def finish(self) -> ImportStats:
        """Log the import event (called by :func:`import_writer` before it commits)."""
        stats = self.stats
        if self._seen is not None:
            self._seen.drop()
        log_event(
            self.session,
            actor=self.actor,
            action="import",
            entity="project",
            entity_id=self.source,
            after={
                "created": stats.created,
                "updated": stats.updated,
                "unchanged": stats.unchanged,
                "skipped": len(stats.skipped),
                "segments": stats.segments,
            },
        )
        return stats


@contextmanager
def import_writer(store: Store, *, actor: str, source: str) -> Iterator[ImportWriter]:
    """``with import_writer(store, ...) as w: w.write(chunk, segments) ...``: ONE transaction for
    every chunk, committed when the block ends, rolled back (nothing written) when it raises.

    On SQLite the write lock is taken at once and held until the end (other writers wait; readers
    go on, WAL); the database grows by the import's pages only (no copy of the data in memory).
    """
    with store.session() as session, session.begin():
        if store.is_sqlite:
            # take the write lock now (BEGIN IMMEDIATE), so a concurrent writer cannot slip in between chunks
            table = Venture.__table__
            session.execute(update(table).where(false()).values(name=table.c.name))  # type: ignore[arg-type]
        writer = ImportWriter(session, actor=actor, source=source)
        yield writer
        writer.finish()


def load_ventures(store: Store, ids: Sequence[str] | None = None) -> pd.DataFrame:
    q = select(
        Venture.id, Venture.name, Venture.country, Venture.sector, Venture.year, Venture.meta, Venture.source
    ).order_by(Venture.id)
    if ids is not None:
        q = q.where(Venture.id.in_(list(ids)))
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=VENTURE_COLUMNS)


def load_documents(store: Store, ids: Sequence[str] | None = None) -> pd.DataFrame:
    q = select(Document.venture_id, Document.field, Document.text).order_by(Document.venture_id, Document.id)
    if ids is not None:
        q = q.where(Document.venture_id.in_(list(ids)))
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=["venture_id", "field", "text"])


def load_segments(store: Store, ids: Sequence[str] | None = None) -> pd.DataFrame:
    q = select(
        Segment.venture_id, Segment.field, Segment.seq, Segment.start, Segment.end, Segment.text
    ).order_by(Segment.venture_id, Segment.document_id, Segment.seq)
    with store.engine.connect() as conn:
        if ids is None:
            rows = conn.execute(q).all()
        else:
            rows = []
            for chunk in _chunks(list(ids)):
                rows.extend(conn.execute(q.where(Segment.venture_id.in_(chunk))).all())
    return pd.DataFrame([tuple(r) for r in rows], columns=SEGMENT_COLUMNS)


def venture_id_pages(store: Store, size: int, *, after: str | None = None) -> Iterator[list[str]]:
    """Venture ids in id order, ``size`` at a time, from the first id after ``after``: keyset
    pages, so memory holds one page whatever the size of the corpus."""
    last = after
    while True:
        q = select(Venture.id).order_by(Venture.id).limit(size)
        if last is not None:
            q = q.where(Venture.id > last)
        with store.engine.connect() as conn:
            page = [str(v) for v in conn.execute(q).scalars()]
        if not page:
            return
        yield page
        last = page[-1]


def venture_fingerprint(store: Store) -> dict[str, Any]:
    """Count and first/last id of the ventures: a resumed run refuses a corpus that changed."""
    from sqlalchemy import func

    with store.engine.connect() as conn:
        n, lo, hi = conn.execute(
            select(func.count(Venture.id), func.min(Venture.id), func.max(Venture.id))
        ).one()
    return {"n": int(n), "first": lo, "last": hi}


def text_fingerprint(store: Store) -> str:
    """SHA-1 of the texts of the ventures: every document's (venture id, field, text SHA-1) and
    the count and highest id of the segments. Changes when a venture's text, and so its
    sentences, changes (the venture index of the advice keys its saved copy by it); reads the
    documents' hashes, not the texts."""
    from sqlalchemy import func

    h = hashlib.sha1()
    q = select(Document.venture_id, Document.field, Document.text_hash).order_by(
        Document.venture_id, Document.field, Document.id
    )
    with store.engine.connect() as conn:
        for vid, fld, th in conn.execute(q):
            h.update(f"{vid}\0{fld}\0{th}\n".encode())
        n, last = conn.execute(select(func.count(Segment.id), func.max(Segment.id))).one()
    h.update(f"segments\0{int(n)}\0{last}".encode())
    return h.hexdigest()


def count(store: Store, table: Any) -> int:
    from sqlalchemy import func

    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


# -- codebooks and runs ---------------------------------------------------------------------
def save_codebook(store: Store, codebook: Codebook, *, actor: str = "simap") -> str:
    version = codebook.version
    with store.session() as session, session.begin():
        if session.get(CodebookVersion, version) is None:
            session.add(
                CodebookVersion(version=version, name=codebook.name, content=codebook.model_dump(mode="json"))
            )
            log_event(
                session,
                actor=actor,
                action="codebook_saved",
                entity="codebook",
                entity_id=version,
                after={"name": codebook.name, "codes": codebook.ids()},
            )
    return version


def load_codebook_version(store: Store, version: str) -> Codebook:
    with store.session() as session:
        row = session.get(CodebookVersion, version)
        if row is None:
            raise NotFound(
                f"codebook version {version!r} is not in this project.",
                hint="run `simap code` with the codebook first",
            )
        return Codebook.model_validate(row.content)


def latest_coded_codebook(store: Store) -> Codebook | None:
    """The codebook of the newest finished coding run (what the map should show)."""
    with store.session() as session:
        run = session.execute(
            select(Run).where(Run.kind == "code", Run.status == "done").order_by(Run.id.desc()).limit(1)
        ).scalar_one_or_none()
        if run is None or run.codebook_version is None:
            return None
    return load_codebook_version(store, run.codebook_version)


def start_run(
    store: Store, *, kind: str, codebook_version: str | None, model: str | None, params: dict[str, Any]
) -> int:
    import os
    import socket

    owner = {"pid": os.getpid(), "host": socket.gethostname()}  # replaced by the stats at the end
    with store.session() as session, session.begin():
        run = Run(
            kind=kind,
            status="running",
            codebook_version=codebook_version,
            model=model,
            params=params,
            stats=owner,
        )
        session.add(run)
        session.flush()
        return int(run.id)


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's live process
        return True
    return True


def mark_interrupted_runs(store: Store) -> list[int]:
    """Runs still 'running' whose process (on this machine) is gone, e.g. killed with kill -9,
    become 'interrupted'; returns their ids. Runs of other machines are left alone."""
    import socket

    host = socket.gethostname()
    with store.session() as session, session.begin():
        stale = [
            run
            for run in session.execute(select(Run).where(Run.status == "running")).scalars()
            if isinstance(run.stats, dict)
            and run.stats.get("host") == host
            and isinstance(run.stats.get("pid"), int)
            and not _alive(int(run.stats["pid"]))
        ]
        for run in stale:
            run.status = "interrupted"
            run.finished_at = utcnow()
            run.error = f"process {run.stats.get('pid')} ended without finishing the run (killed?)"
        return [int(r.id) for r in stale]


def resume_run(store: Store, run_id: int) -> None:
    """Mark an interrupted or failed run as running again, owned by this process (its progress
    in ``stats["progress"]`` is kept)."""
    import os
    import socket

    with store.session() as session, session.begin():
        run = session.get(Run, run_id)
        if run is None:
            raise NotFound(f"run {run_id} does not exist.")
        run.status = "running"
        run.finished_at = None
        run.error = None
        run.stats = dict(run.stats or {}) | {"pid": os.getpid(), "host": socket.gethostname()}


def finish_run(
    store: Store,
    run_id: int,
    *,
    status: str = "done",
    stats: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    with store.session() as session, session.begin():
        session.execute(
            update(Run)
            .where(Run.id == run_id)
            .values(status=status, finished_at=utcnow(), stats=stats or {}, error=error)
        )


def get_run(store: Store, run_id: int) -> Run:
    with store.session() as session:
        run = session.get(Run, run_id)
        if run is None:
            raise NotFound(f"run {run_id} does not exist.")
        return run


# -- assignments ----------------------------------------------------------------------------
def _when(value: Any, default: Any) -> Any:
    """A row's own creation time (an import keeps the original's), else ``default``."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return default
    return value


def save_machine_suggestions(
    store: Store,
    suggestions: pd.DataFrame,
    *,
    coder: str,
    codebook_version: str,
    run_id: int,
    run_stats: dict[str, Any] | None = None,
) -> int:
    """Upsert one machine coder's suggestions (never touches human decisions).

    ``run_stats``: written to the run in the same transaction, so that a batch's suggestions and
    the run's record of how far it got commit together (what ``simap code --resume`` reads).
    """
    now = utcnow()
    n = len(suggestions)
    status = (
        [v or "suggested" for v in suggestions["status"].tolist()]
        if "status" in suggestions
        else ["suggested"] * n
    )
    created = (
        [_when(v, now) for v in suggestions["created_at"].tolist()]
        if "created_at" in suggestions
        else [now] * n
    )
    columns: dict[str, Sequence[Any]] = {
        "venture_id": suggestions["venture_id"].tolist(),
        "code_id": suggestions["code_id"].tolist(),
        "codebook_version": [codebook_version] * n,
        "source": ["machine"] * n,
        "coder": [coder] * n,
        "run_id": [run_id] * n,
        "score": suggestions["score"].astype(float).tolist(),
        "raw": suggestions["raw"].astype(float).tolist(),
        "status": status,
        "created_at": created,
        "updated_at": [now] * n,
    }
    stored: frozenset[str] = frozenset()
    if "evidence_json" in suggestions:  # serialised by the coding stage (json.dumps, as the JSON type does)
        texts = suggestions["evidence_json"].tolist()
        if store.engine.dialect.name == "sqlite":
            columns["evidence"], stored = texts, frozenset({"evidence"})
        else:
            columns["evidence"] = [json.loads(t) for t in texts]
    else:
        columns["evidence"] = suggestions["evidence"].tolist()
    with store.session() as session, session.begin():
        _upsert_columns(
            session,
            Assignment.__table__,
            columns,
            ["venture_id", "code_id", "coder"],
            ["codebook_version", "run_id", "score", "raw", "status", "evidence", "updated_at"],
            stored=stored,
        )
        log_event(
            session,
            actor=coder,
            action="machine_coded",
            entity="run",
            entity_id=str(run_id),
            run_id=run_id,
            after={"suggestions": n, "codebook_version": codebook_version},
        )
        if run_stats is not None:
            session.execute(update(Run).where(Run.id == run_id).values(stats=run_stats))
    return n


def record_decision(
    store: Store,
    *,
    venture_id: str,
    code_id: str,
    coder: str,
    status: str,
    codebook_version: str,
    evidence: list[dict[str, Any]] | None = None,
    memo: str | None = None,
    score: float | None = None,
    base: int | None = None,
) -> int:
    """A human decision (accepted / rejected) on a venture x code, logged with before and after;
    returns the pair's new version (:func:`pair_version`).

    ``base``: the version of the venture x code the reviewer saw; when someone decided on it since,
    nothing is written and :class:`~simap.errors.Conflict` (HTTP 409) is raised. Decisions on one
    venture are serialised (a row lock on PostgreSQL, the write lock on SQLite), so the check and
    the write are one step.
    """
    if status not in {"accepted", "rejected"}:
        raise InvalidInput(f"a decision must be 'accepted' or 'rejected'; got {status!r}.", field="status")
    now = utcnow()
    with store.session() as session, session.begin():
        _lock_venture(session, venture_id)
        if session.get(Venture, venture_id) is None:
            raise NotFound(
                f"venture {venture_id!r} is not in this project.", hint="check the id (`simap ventures`)"
            )
        if base is not None:
            current = _pair_version(session, venture_id, code_id)
            if current != base:
                raise Conflict(
                    f"{venture_id}:{code_id} was changed by someone else since you opened it "
                    f"(version {base}, now {current}); your decision was not saved.",
                    hint="reload the venture and decide again",
                )
        old = session.execute(
            select(Assignment).where(
                Assignment.venture_id == venture_id, Assignment.code_id == code_id, Assignment.coder == coder
            )
        ).scalar_one_or_none()
        before = None if old is None else {"status": old.status, "evidence": old.evidence, "memo": old.memo}
        row = {
            "venture_id": venture_id,
            "code_id": code_id,
            "codebook_version": codebook_version,
            "source": "human",
            "coder": coder,
            "run_id": None,
            "score": score,
            "raw": None,
            "status": status,
            "evidence": evidence or [],
            "memo": memo,
            "created_at": now,
            "updated_at": now,
        }
        _upsert(
            session,
            Assignment.__table__,
            [row],
            ["venture_id", "code_id", "coder"],
            ["codebook_version", "score", "status", "evidence", "memo", "updated_at"],
        )
        log_event(
            session,
            actor=coder,
            action=f"code_{status}",
            entity="assignment",
            entity_id=f"{venture_id}:{code_id}",
            before=before,
            after={"status": status, "evidence": evidence or [], "memo": memo},
        )
        return _pair_version(session, venture_id, code_id)


def _lock_venture(session: Session, venture_id: str) -> None:
    """Serialise writers of one venture for the rest of the transaction: PostgreSQL locks the
    venture row; SQLite takes the database write lock now (a no-op UPDATE), so that what the
    transaction reads next is what it writes over."""
    if session.bind.dialect.name == "sqlite":  # type: ignore[union-attr]
        table = Venture.__table__
        session.execute(update(table).where(false()).values(name=table.c.name))  # type: ignore[arg-type]
    else:
        session.execute(select(Venture.id).where(Venture.id == venture_id).with_for_update())


def _pair_version(session: Session | Connection, venture_id: str, code_id: str) -> int:
    from sqlalchemy import func

    q = select(func.max(Event.id)).where(
        Event.entity == "assignment", Event.entity_id == f"{venture_id}:{code_id}"
    )
    return int(session.execute(q).scalar_one_or_none() or 0)


def pair_versions(store: Store, venture_id: str) -> dict[str, int]:
    """code id -> :func:`pair_version` for every code decided on ``venture_id``."""
    from sqlalchemy import func

    prefix = f"{venture_id}:"
    q = (
        select(Event.entity_id, func.max(Event.id))
        .where(Event.entity == "assignment", func.substr(Event.entity_id, 1, len(prefix)) == prefix)
        .group_by(Event.entity_id)
    )
    with store.engine.connect() as conn:
        return {str(eid)[len(prefix) :]: int(v) for eid, v in conn.execute(q)}


def pair_version(store: Store, venture_id: str, code_id: str) -> int:
    """The version of a venture x code's decisions: the id of its newest decision event (0: none).
    Send it back as ``base`` to :func:`record_decision` to refuse stale writes."""
    with store.engine.connect() as conn:
        return _pair_version(conn, venture_id, code_id)


def load_assignments(
    store: Store, codebook: Codebook | None = None, *, coder: str | None = None
) -> pd.DataFrame:
    q = select(
        Assignment.venture_id,
        Assignment.code_id,
        Assignment.source,
        Assignment.coder,
        Assignment.score,
        Assignment.status,
        Assignment.evidence,
    )
    if coder is not None:
        q = q.where(Assignment.coder == coder)
    if codebook is not None:
        q = q.where(Assignment.code_id.in_(codebook.ids()))
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
    df = pd.DataFrame(
        [tuple(r) for r in rows],
        columns=["venture_id", "code_id", "source", "coder", "score", "status", "evidence"],
    )
    kinds = {c.id: c.kind for c in codebook.codes} if codebook is not None else {}
    df.insert(2, "kind", df["code_id"].map(kinds) if kinds else None)
    return df[ASSIGNMENT_COLUMNS]


def coders(store: Store) -> pd.DataFrame:
    from sqlalchemy import func

    q = select(Assignment.coder, Assignment.source, func.count()).group_by(
        Assignment.coder, Assignment.source
    )
    with store.engine.connect() as conn:
        return pd.DataFrame([tuple(r) for r in conn.execute(q)], columns=["coder", "source", "n"])


EVENT_FIELDS = (
    Event.id,
    Event.ts,
    Event.actor,
    Event.action,
    Event.entity,
    Event.entity_id,
    Event.before,
    Event.after,
)
"""The columns of an event as the review pages and exports show it."""


def load_events(store: Store, *, entity_id: str | None = None, limit: int = 1000) -> pd.DataFrame:
    q = select(*EVENT_FIELDS).order_by(Event.id.desc()).limit(limit)
    if entity_id is not None:
        q = q.where(Event.entity_id == entity_id)
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
    return pd.DataFrame(
        [tuple(r) for r in rows],
        columns=["id", "ts", "actor", "action", "entity", "entity_id", "before", "after"],
    )


# -- embedding cache ------------------------------------------------------------------------
class DbEmbeddingCache:
    """Embeddings cached in the project database, keyed by (model key, SHA-1 of the text)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get_many(self, model_key: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        with self.store.engine.connect() as conn:
            for chunk in _chunks(list(hashes)):
                q = select(EmbeddingRow.text_hash, EmbeddingRow.vector).where(
                    EmbeddingRow.model_key == model_key, EmbeddingRow.text_hash.in_(list(chunk))
                )
                for h, vec in conn.execute(q):
                    out[h] = np.frombuffer(vec, dtype=np.float32)
        return out

    def put_many(self, model_key: str, items: dict[str, np.ndarray]) -> None:
        rows = [
            {
                "model_key": model_key,
                "text_hash": h,
                "dim": int(v.shape[0]),
                "vector": np.asarray(v, dtype=np.float32).tobytes(),
            }
            for h, v in items.items()
        ]
        with self.store.session() as session, session.begin():
            _upsert(session, EmbeddingRow.__table__, rows, ["model_key", "text_hash"], ["dim", "vector"])


def save_human_codes(
    store: Store, rows: list[dict[str, Any]], *, coder: str, codebook_version: str, source: str
) -> int:
    """Upsert a coder's decisions (rows: venture_id, code_id, status, evidence) in ONE transaction.

    One event per venture records what that coder decided on it.
    """
    now = utcnow()
    records = [
        {
            "venture_id": r["venture_id"],
            "code_id": r["code_id"],
            "codebook_version": codebook_version,
            "source": "human",
            "coder": coder,
            "run_id": None,
            "score": None,
            "raw": None,
            "status": r["status"],
            "evidence": r.get("evidence") or [],
            "memo": r.get("memo"),
            "created_at": _when(r.get("created_at"), now),
            "updated_at": now,
        }
        for r in rows
    ]
    by_venture: dict[str, list[str]] = {}
    for r in rows:
        if r["status"] == "accepted":
            by_venture.setdefault(r["venture_id"], []).append(r["code_id"])
        else:
            by_venture.setdefault(r["venture_id"], [])
    with store.session() as session, session.begin():
        _upsert(
            session,
            Assignment.__table__,
            records,
            ["venture_id", "code_id", "coder"],
            ["codebook_version", "status", "evidence", "memo", "updated_at"],
        )
        events = [
            {
                "ts": now,
                "actor": coder,
                "action": "human_codes_imported",
                "entity": "venture",
                "entity_id": vid,
                "before": None,
                "after": {"accepted": codes, "source": source},
            }
            for vid, codes in by_venture.items()
        ]
        for chunk in _chunks(events, 2000):
            session.execute(insert(Event), list(chunk))
    return len(records)


def log_event_now(store: Store, **fields: Any) -> None:
    """Append one event in its own transaction."""
    with store.session() as session, session.begin():
        log_event(session, **fields)


def load_assignment_rows(store: Store) -> pd.DataFrame:
    """Every stored assignment with all its fields (memo and run included), in insertion order."""
    cols = [
        Assignment.venture_id,
        Assignment.code_id,
        Assignment.codebook_version,
        Assignment.source,
        Assignment.coder,
        Assignment.run_id,
        Assignment.score,
        Assignment.status,
        Assignment.evidence,
        Assignment.memo,
        Assignment.created_at,
    ]
    with store.engine.connect() as conn:
        rows = conn.execute(select(*cols).order_by(Assignment.id)).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=[c.key for c in cols])
