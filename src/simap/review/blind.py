"""Blind double coding: a set of ventures assigned to coders who cannot see each other's codes.

While a venture is in a blind set, each of the set's coders sees only their own decisions on it
(and, when ``hide_machine``, not the machine's suggestions either). Everyone else, e.g. an
admin adjudicating, sees all codes. :func:`hidden_for` gives the :class:`~simap.store.browse.Hidden`
scope that every read of the workbench applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from simap.errors import InvalidInput, NotFound
from simap.store.browse import Hidden
from simap.store.db import Store
from simap.store.repo import log_event
from simap.store.schema import Assignment, CodingSet, CodingSetItem, Venture, utcnow


@dataclass
class CodingSetInfo:
    id: int
    name: str
    coders: list[str]
    blind: bool
    hide_machine: bool
    created_by: str
    created_at: datetime
    size: int
    progress: dict[str, int]  # coder -> ventures of the set with at least one of their decisions

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__ | {"created_at": self.created_at.isoformat()}


def create_set(
    store: Store,
    name: str,
    venture_ids: Sequence[str],
    coders: Sequence[str],
    *,
    actor: str,
    blind: bool = True,
    hide_machine: bool = True,
) -> int:
    """Assign ``venture_ids`` to ``coders`` (two for double coding); returns the set id."""
    name = (name or "").strip()
    coders = [c.strip() for c in coders if c and c.strip()]
    ids = list(dict.fromkeys(v.strip() for v in venture_ids if v and v.strip()))
    if not name:
        raise InvalidInput("a coding set needs a name; got an empty one.", field="name")
    if len(set(coders)) < 2 and blind:
        raise InvalidInput(
            f"blind double coding needs at least two different coders; got {coders}.",
            field="coders",
            hint="pick two analysts",
        )
    if not ids:
        raise InvalidInput("a coding set needs at least one venture; got none.", field="ventures")
    from simap.store import accounts

    for coder in coders:
        if not accounts.get_user(store, coder).can("analyst"):
            raise InvalidInput(f"coder {coder!r} is a viewer and cannot code.", field="coders")
    with store.session() as session, session.begin():
        known = set(session.execute(select(Venture.id).where(Venture.id.in_(ids))).scalars())
        unknown = [v for v in ids if v not in known]
        if unknown:
            raise NotFound(
                f"{len(unknown)} venture id(s) are not in this project, e.g. {unknown[:5]}.",
                hint="check the ids",
            )
        row = CodingSet(
            name=name,
            coders=coders,
            blind=blind,
            hide_machine=hide_machine,
            created_by=actor,
            created_at=utcnow(),
        )
        session.add(row)
        try:
            session.flush()
        except IntegrityError:
            raise InvalidInput(f"a coding set named {name!r} exists already.", field="name") from None
        session.execute(insert(CodingSetItem), [{"set_id": row.id, "venture_id": v} for v in ids])
        log_event(
            session,
            actor=actor,
            action="coding_set_created",
            entity="coding_set",
            entity_id=name,
            after={"coders": coders, "ventures": len(ids), "blind": blind, "hide_machine": hide_machine},
        )
        return int(row.id)


def list_sets(store: Store) -> list[CodingSetInfo]:
    out = []
    with store.session() as session:
        for s in session.execute(select(CodingSet).order_by(CodingSet.id)).scalars():
            items = select(CodingSetItem.venture_id).where(CodingSetItem.set_id == s.id)
            size = session.execute(select(func.count()).select_from(items.subquery())).scalar_one()
            progress = {}
            for coder in s.coders:
                progress[coder] = session.execute(
                    select(func.count(Assignment.venture_id.distinct())).where(
                        Assignment.coder == coder,
                        Assignment.source == "human",
                        Assignment.venture_id.in_(items),
                    )
                ).scalar_one()
            out.append(
                CodingSetInfo(
                    s.id,
                    s.name,
                    list(s.coders),
                    s.blind,
                    s.hide_machine,
                    s.created_by,
                    s.created_at,
                    size,
                    progress,
                )
            )
    return out


def set_ventures(store: Store, set_id: int) -> list[str]:
    with store.engine.connect() as conn:
        q = (
            select(CodingSetItem.venture_id)
            .where(CodingSetItem.set_id == set_id)
            .order_by(CodingSetItem.venture_id)
        )
        return list(conn.execute(q).scalars())


def hidden_for(store: Store, username: str) -> Hidden:
    """What ``username`` must not see: the blind sets they code in."""
    with store.session() as session:
        sets = session.execute(select(CodingSet).where(CodingSet.blind.is_(True))).scalars().all()
    mine = [s for s in sets if username in (s.coders or [])]
    return Hidden(
        username=username,
        set_ids=tuple(s.id for s in mine),
        machine_set_ids=tuple(s.id for s in mine if s.hide_machine),
    )


def blind_ventures(store: Store, hidden: Hidden) -> set[str]:
    """The ventures on which ``hidden.username`` codes blind."""
    if hidden.empty:
        return set()
    with store.engine.connect() as conn:
        q = select(CodingSetItem.venture_id).where(CodingSetItem.set_id.in_(hidden.set_ids))
        return set(conn.execute(q).scalars())


def my_assignments(store: Store, username: str) -> list[dict[str, Any]]:
    """The ventures assigned to ``username`` in coding sets, with whether they decided on them yet."""
    with store.session() as session:
        sets = [s for s in session.execute(select(CodingSet)).scalars() if username in (s.coders or [])]
        out = []
        for s in sets:
            items = select(CodingSetItem.venture_id).where(CodingSetItem.set_id == s.id)
            done = set(
                session.execute(
                    select(Assignment.venture_id).where(
                        Assignment.coder == username,
                        Assignment.source == "human",
                        Assignment.venture_id.in_(items),
                    )
                ).scalars()
            )
            q = (
                select(Venture.id, Venture.name)
                .join(CodingSetItem, CodingSetItem.venture_id == Venture.id)
                .where(CodingSetItem.set_id == s.id)
                .order_by(Venture.name)
            )
            for vid, vname in session.execute(q):
                out.append({"set": s.name, "venture_id": vid, "name": vname, "done": vid in done})
    return out
