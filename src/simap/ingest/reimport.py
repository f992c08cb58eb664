"""Re-importing a file safely: what an import would change, and the mapping it was made with.

:func:`plan` compares a read batch with the project: which ventures are new, which fields of
existing ventures would be overwritten (old value not empty, new value different) and which
texts would change. Every import records the field mapping (``--map``) it used per file name;
:func:`check_mapping` refuses a re-import of the same file with another mapping that would
overwrite non-empty fields (re-importing without the earlier ``--map`` silently replaced names
with ids) unless ``update`` is set. ``simap import --dry-run`` prints the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from simap.batches import IngestBatch
from simap.errors import InvalidInput
from simap.store import browse
from simap.store.db import Store

SETTING = "import_mappings"
FIELDS = ("name", "country", "sector", "year")
SHOWN = 8


@dataclass
class FieldChange:
    venture_id: str
    field: str
    old: Any
    new: Any

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def __str__(self) -> str:
        return f"{self.venture_id}: {self.field} {self.old!r} -> {self.new!r}"


@dataclass
class ImportPlan:
    """What importing a batch would do (nothing is written)."""

    source: str
    mapping: dict[str, Any]
    created: list[str] = field(default_factory=list)
    unchanged: int = 0
    overwrites: list[FieldChange] = field(default_factory=list)  # non-empty fields that change
    filled: list[FieldChange] = field(default_factory=list)  # empty fields that get a value
    texts_changed: list[str] = field(default_factory=list)  # "venture_id:field"
    skipped: list[str] = field(default_factory=list)
    earlier_mapping: dict[str, Any] | None = None

    @property
    def updated(self) -> int:
        ids = {c.venture_id for c in [*self.overwrites, *self.filled]}
        return len(ids | {t.split(":")[0] for t in self.texts_changed})

    @property
    def mapping_changed(self) -> bool:
        return self.earlier_mapping is not None and self.earlier_mapping != self.mapping

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "mapping": self.mapping,
            "earlier_mapping": self.earlier_mapping,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "overwrites": [c.to_dict() for c in self.overwrites],
            "filled": [c.to_dict() for c in self.filled],
            "texts_changed": self.texts_changed,
            "skipped": self.skipped,
        }


def mapping_record(mapping: Any) -> dict[str, Any]:
    """A mapping as plain data ({} for "auto-detect everything")."""
    if mapping is None:
        return {}
    return {k: v for k, v in mapping.model_dump().items() if v is not None}


def describe_mapping(record: dict[str, Any] | None) -> str:
    if not record:
        return "no --map (fields detected automatically)"
    parts = [f"--map {k}={','.join(v) if isinstance(v, list) else v}" for k, v in record.items()]
    return " ".join(parts)


def earlier_mapping(store: Store, source: str) -> dict[str, Any] | None:
    kept = browse.get_setting(store, SETTING) or {}
    entry = kept.get(Path(source).name)
    return dict(entry["map"]) if isinstance(entry, dict) and "map" in entry else None


def remember_mapping(store: Store, source: str, mapping: dict[str, Any]) -> None:
    kept = dict(browse.get_setting(store, SETTING) or {})
    kept[Path(source).name] = {"map": mapping}
    browse.put_setting(store, SETTING, kept)


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or str(value).strip() == ""


def plan(
    store: Store,
    batch: IngestBatch,
    *,
    source: str,
    mapping: Any = None,
    conn: Any = None,
    into: ImportPlan | None = None,
) -> ImportPlan:
    """What importing ``batch`` (read from ``source`` with ``mapping``) would change.

    ``conn``: read through this connection or session (the import's own, inside its
    transaction) instead of a new one. ``into``: add this batch (a chunk of a stream) to a plan
    made for the earlier chunks.
    """
    out = into or ImportPlan(
        source=Path(source).name,
        mapping=mapping_record(mapping),
        earlier_mapping=earlier_mapping(store, source),
    )
    out.skipped.extend(str(s) for s in batch.skipped)
    if conn is not None:
        _plan_rows(conn, batch, out)
    else:
        with store.engine.connect() as own:
            _plan_rows(own, batch, out)
    return out


def _plan_rows(conn: Any, batch: IngestBatch, out: ImportPlan) -> None:
    from simap.store.repo import _chunks, _clean, sha1
    from simap.store.schema import Document, Venture

    ids = [str(v) for v in batch.ventures["id"].tolist()]
    existing: dict[str, dict[str, Any]] = {}
    hashes: dict[tuple[str, str], str] = {}
    for chunk in _chunks(ids):
        q = select(Venture.id, Venture.name, Venture.country, Venture.sector, Venture.year)
        for vid, *values in conn.execute(q.where(Venture.id.in_(chunk))):
            existing[vid] = dict(zip(FIELDS, values, strict=True))
        dq = select(Document.venture_id, Document.field, Document.text_hash)
        for vid, fld, h in conn.execute(dq.where(Document.venture_id.in_(chunk))):
            hashes[(vid, fld)] = h
    changed_docs = {
        f"{r['venture_id']}:{r['field']}"
        for r in batch.documents.to_dict("records")
        if str(r["venture_id"]) in existing
        and hashes.get((str(r["venture_id"]), str(r["field"]))) != sha1(r["text"])
    }
    out.texts_changed = sorted([*out.texts_changed, *changed_docs])
    for rec in batch.ventures.to_dict("records"):
        vid = str(rec["id"])
        before = existing.get(vid)
        if before is None:
            out.created.append(vid)
            continue
        new = {
            "name": str(rec.get("name") or rec["id"]),
            "country": _clean(rec.get("country")),
            "sector": _clean(rec.get("sector")),
            "year": _clean(rec.get("year")),
        }
        touched = False
        for key in FIELDS:
            old, value = before.get(key), new[key]
            if (_empty(value) and _empty(old)) or str(old) == str(value):
                continue
            touched = True
            (out.filled if _empty(old) else out.overwrites).append(FieldChange(vid, key, old, value))
        if not touched and not any(t.startswith(f"{vid}:") for t in changed_docs):
            out.unchanged += 1


def check_mapping(p: ImportPlan, *, update: bool, overwrites: int | None = None) -> None:
    """Refuse a re-import with another mapping than the earlier one of the same file when it
    would overwrite non-empty fields, unless ``update``. ``overwrites``: their number when
    ``p.overwrites`` keeps only the first few (a streamed import)."""
    total = len(p.overwrites) if overwrites is None else overwrites
    if update or not p.mapping_changed or not total:
        return
    shown = "; ".join(str(c) for c in p.overwrites[:SHOWN])
    more = f" (and {total - SHOWN} more)" if total > SHOWN else ""
    raise InvalidInput(
        f"{p.source} was imported before with {describe_mapping(p.earlier_mapping)}; with "
        f"{describe_mapping(p.mapping)} this import would overwrite {total} non-empty "
        f"fields: {shown}{more}. Nothing was imported.",
        source=p.source,
        field="--map",
        hint=f"repeat the earlier mapping ({describe_mapping(p.earlier_mapping)}), check with "
        "--dry-run, or pass --update to overwrite",
    )
