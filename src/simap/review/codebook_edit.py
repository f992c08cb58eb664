"""Editing the project's codebook from the workbench: add, rename, edit, merge, retire codes.

Edits are operations (plain dicts, so the web form, the API and scripts share them) applied to a
:class:`~simap.codebook.schema.Codebook`, which gives a new codebook and so a new version (its
content hash). :func:`preview` says what changes in the map; :func:`save_edits` stores the
version, makes it the project's working codebook and logs the edit with before and after.

Operations::

    {"op": "add", "code": {"id": "B5", "kind": "barrier", "name": ..., "definition": ...}}
    {"op": "rename", "code_id": "B2", "name": "New name"}
    {"op": "edit", "code_id": "B2", "definition": ..., "examples": [...], "counter_examples": [...],
     "include": [...], "exclude": [...], "cues": [...]}
    {"op": "merge", "code_id": "B4", "into": "B2"}   # B2 gains B4's texts; B4 is retired
    {"op": "retire", "code_id": "B4"}  /  {"op": "restore", "code_id": "B4"}

Retired codes stay in the codebook (old decisions keep their meaning) but leave the map.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from simap import codebook as cb
from simap.codebook.schema import Codebook
from simap.errors import InvalidInput, expected
from simap.store import browse, repo
from simap.store.db import Store

SETTING = "codebook"
EDITABLE = ("definition", "examples", "counter_examples", "include", "exclude", "cues", "name", "kind")
OPS = ("add", "rename", "edit", "merge", "retire", "restore")


def working_codebook(store: Store) -> Codebook:
    """The codebook the workbench shows: the last one saved or coded, else the default."""
    from simap.review.codebook_versions import working_codebook as working

    return working(store)


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i and i.strip()))


def apply_edits(book: Codebook, ops: Sequence[dict[str, Any]]) -> Codebook:
    """A new codebook with ``ops`` applied in order (validated like a codebook file)."""
    data = book.model_dump(mode="json")
    codes = {c["id"]: c for c in data["codes"]}

    def code(op: dict[str, Any], key: str = "code_id") -> dict[str, Any]:
        cid = op.get(key)
        if cid not in codes:
            raise InvalidInput(
                expected(f"'{key}' of a {op.get('op')!r} edit", "a code of the codebook", cid),
                field=key,
                hint=f"use one of {', '.join(codes)}",
            )
        return codes[cid]

    for op in ops:
        kind = op.get("op")
        if kind == "add":
            new = dict(op.get("code") or {})
            if new.get("id") in codes:
                raise InvalidInput(
                    f"code {new.get('id')!r} exists already.", field="id", hint="pick a new id"
                )
            data["codes"].append(new)
            codes[str(new.get("id"))] = new
        elif kind == "rename":
            code(op)["name"] = str(op.get("name") or "").strip()
        elif kind == "edit":
            target = code(op)
            for key in EDITABLE:
                if key in op and op[key] is not None:
                    value = op[key]
                    target[key] = _unique(value) if isinstance(value, list) else str(value).strip()
        elif kind == "merge":
            source, into = code(op), code(op, "into")
            if source is into:
                raise InvalidInput("a code cannot be merged into itself.", field="into")
            for key in ("include", "examples", "counter_examples", "cues"):
                into[key] = _unique([*into.get(key, []), *source.get(key, [])])
            source["retired"] = True
        elif kind in ("retire", "restore"):
            code(op)["retired"] = kind == "retire"
        else:
            raise InvalidInput(expected("op", f"one of {list(OPS)}", kind), field="op")
    if not any(not c.get("retired") for c in data["codes"]):
        raise InvalidInput("a codebook needs at least one active code.", hint="restore a code first")
    return cb.from_dict(data, source="codebook edit")


@dataclass
class PreviewRow:
    code_id: str
    name: str
    before: int
    after: int
    note: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _present_counts(store: Store, book: Codebook, min_score: float) -> dict[str, int]:
    from simap.maps.select import effective_codes

    frame = repo.load_assignments(store, book)
    if frame.empty:
        return {}
    counts = effective_codes(frame, min_score=min_score)["code_id"].value_counts()
    return {str(k): int(v) for k, v in counts.items()}


def preview(
    store: Store, old: Codebook, ops: Sequence[dict[str, Any]], *, min_score: float = 0.5
) -> tuple[Codebook, list[PreviewRow]]:
    """The new codebook and, per code, how many ventures the map shows before and after."""
    new = apply_edits(old, ops)
    before = _present_counts(store, old, min_score)
    after = _present_counts(store, new, min_score)
    notes: dict[str, list[str]] = {}
    for op in ops:
        kind = op.get("op")
        cid = str(op.get("code_id") or (op.get("code") or {}).get("id") or "")
        if kind == "add":
            notes.setdefault(cid, []).append("new code: no suggestions until the project is re-coded")
        elif kind == "rename":
            notes.setdefault(cid, []).append("renamed: same ventures")
        elif kind == "edit":
            notes.setdefault(cid, []).append("edited: machine suggestions change when re-coded")
        elif kind == "merge":
            into = str(op.get("into"))
            notes.setdefault(cid, []).append(f"merged into {into}: leaves the map")
            notes.setdefault(into, []).append(
                f"gains {cid}'s texts; up to {before.get(cid, 0)} more ventures after re-coding"
            )
        elif kind == "retire":
            notes.setdefault(cid, []).append("retired: leaves the map (decisions are kept)")
        elif kind == "restore":
            notes.setdefault(cid, []).append("restored: back in the map")
    ids = list(dict.fromkeys([*old.ids(), *new.ids(), *notes]))
    names = {c.id: c.name for c in [*old.codes, *new.codes]}
    rows = [
        PreviewRow(i, names.get(i, i), before.get(i, 0), after.get(i, 0), "; ".join(notes.get(i, [])))
        for i in ids
    ]
    return new, rows


def save_edits(store: Store, old: Codebook, ops: Sequence[dict[str, Any]], *, actor: str) -> Codebook:
    """Apply ``ops``, store the new version, make it the working codebook and log the edit."""
    if not ops:
        raise InvalidInput("there is nothing to save: no edits.", hint="change a code first")
    new = apply_edits(old, ops)
    version = repo.save_codebook(store, new, actor=actor)
    browse.put_setting(store, SETTING, {"version": version})
    with store.session() as session, session.begin():
        repo.log_event(
            session,
            actor=actor,
            action="codebook_edited",
            entity="codebook",
            entity_id=version,
            before={"version": old.version, "codes": old.ids()},
            after={"version": version, "codes": new.ids(), "ops": list(ops)},
        )
    return new
