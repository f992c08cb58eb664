"""Reliability in the workbench: agreement between any two coders (the machine and gold sets
included) and the disagreements to adjudicate.

Coders are named as stored (a user name for humans), ``machine`` for the newest coding run's
suggestions (present when accepted or when the score reaches ``min_score``) and ``gold:<name>``
for a gold set. A human's items are the ventures they decided on; their codes are the accepted
ones. Scores come from :func:`simap.review.agreement.compare` over the items both coders coded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select

from simap.codebook.schema import Codebook
from simap.errors import InvalidInput, NotFound
from simap.review.agreement import AgreementReport, compare
from simap.store import browse
from simap.store.browse import Hidden
from simap.store.db import Store
from simap.store.repo import log_event
from simap.store.schema import Assignment, GoldLabel, Venture

MACHINE = "machine"
GOLD = "gold:"


def coder_names(store: Store) -> list[str]:
    """Every coder one can compare: human coders, ``machine``, and ``gold:<set>``."""
    with store.engine.connect() as conn:
        humans = conn.execute(
            select(Assignment.coder).where(Assignment.source == "human").distinct().order_by(Assignment.coder)
        ).scalars()
        golds = conn.execute(select(GoldLabel.gold_set).distinct().order_by(GoldLabel.gold_set)).scalars()
        out = list(humans)
        if browse.latest_machine_coder(store):
            out.append(MACHINE)
        return out + [GOLD + g for g in golds]


def coder_label(store: Store, coder: str) -> str:
    """Words for a coder in report titles: which data is compared."""
    if coder == MACHINE:
        key = browse.latest_machine_coder(store)
        return f"machine suggestions ({key})" if key else "machine suggestions"
    if coder.startswith(GOLD):
        return f"gold set {coder[len(GOLD) :]!r}"
    return f"coder {coder!r}"


def coder_codes(
    store: Store,
    codebook: Codebook,
    coder: str,
    *,
    min_score: float = 0.5,
    ids: Iterable[str] | None = None,
) -> dict[str, set[str]]:
    """venture id -> the codes ``coder`` says are present, for every venture the coder coded."""
    codes = codebook.ids()
    wanted = None if ids is None else list(ids)
    with store.engine.connect() as conn:
        if coder.startswith(GOLD):
            q = select(GoldLabel.venture_id, GoldLabel.codes).where(GoldLabel.gold_set == coder[len(GOLD) :])
            if wanted is not None:
                q = q.where(GoldLabel.venture_id.in_(wanted))
            rows = conn.execute(q).all()
            if not rows and wanted is None:
                raise NotFound(f"gold set {coder[len(GOLD) :]!r} does not exist.", hint="upload it first")
            return {vid: {c for c in labels if c in codes} for vid, labels in rows}
        key = browse.latest_machine_coder(store) if coder == MACHINE else coder
        if key is None:
            raise NotFound("this project has no machine suggestions yet.", hint="run `simap code` first")
        q2 = select(Assignment.venture_id, Assignment.code_id, Assignment.status, Assignment.score).where(
            Assignment.coder == key, Assignment.code_id.in_(codes)
        )
        if wanted is not None:
            q2 = q2.where(Assignment.venture_id.in_(wanted))
        out: dict[str, set[str]] = {}
        machine = coder == MACHINE
        for vid, code, status, score in conn.execute(q2):
            present = out.setdefault(vid, set())
            if status == "accepted" or (
                machine and status == "suggested" and score is not None and score >= min_score
            ):
                present.add(code)
    if not out and wanted is None and coder != MACHINE:
        raise NotFound(f"coder {coder!r} has not coded anything in this project.", hint="pick another coder")
    return out


def _pair(
    store: Store, codebook: Codebook, a: str, b: str, min_score: float, hidden: Hidden | None
) -> tuple[dict[str, set[str]], dict[str, set[str]], list[str]]:
    if a == b:
        raise InvalidInput(f"compare two different coders; got {a!r} twice.", field="b")
    ca = coder_codes(store, codebook, a, min_score=min_score)
    cb = coder_codes(store, codebook, b, min_score=min_score, ids=list(ca) if len(ca) < 5000 else None)
    common = sorted(set(ca) & set(cb))
    if hidden is not None and not hidden.empty:
        from simap.review.blind import blind_ventures

        blind = blind_ventures(store, hidden)
        common = [v for v in common if v not in blind]
    return ca, cb, common


def agreement(
    store: Store,
    codebook: Codebook,
    a: str,
    b: str,
    *,
    min_score: float = 0.5,
    hidden: Hidden | None = None,
) -> AgreementReport:
    """Per-code and pooled P/R/F1, Cohen's kappa and Krippendorff's alpha of ``b`` against ``a``."""
    ca, cb, common = _pair(store, codebook, a, b, min_score, hidden)
    return compare({v: ca[v] for v in common}, cb, codebook.ids(), items=common)


@dataclass
class Disagreement:
    venture_id: str
    name: str
    code_id: str
    a: bool
    b: bool

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def disagreements(
    store: Store,
    codebook: Codebook,
    a: str,
    b: str,
    *,
    min_score: float = 0.5,
    hidden: Hidden | None = None,
    limit: int = 500,
) -> list[Disagreement]:
    """Venture x code pairs where ``a`` and ``b`` differ (for adjudication), by venture."""
    ca, cb, common = _pair(store, codebook, a, b, min_score, hidden)
    out = []
    for vid in common:
        for code in codebook.ids():
            x, y = code in ca[vid], code in cb[vid]
            if x != y:
                out.append(Disagreement(vid, "", code, x, y))
    out = out[:limit]
    names = _names(store, {d.venture_id for d in out})
    for d in out:
        d.name = names.get(d.venture_id, d.venture_id)
    return out


def _names(store: Store, ids: Iterable[str]) -> dict[str, str]:
    ids = list(ids)
    if not ids:
        return {}
    with store.engine.connect() as conn:
        return dict(conn.execute(select(Venture.id, Venture.name).where(Venture.id.in_(ids))).all())


def save_gold(store: Store, name: str, labels: Mapping[str, Sequence[str]], *, actor: str) -> int:
    """Store (replace) a gold set: venture id -> codes. Returns how many ventures it labels."""
    name = (name or "").strip()
    if not name or ":" in name:
        raise InvalidInput(f"a gold set needs a name without ':'; got {name!r}.", field="name")
    rows = [{"gold_set": name, "venture_id": str(v), "codes": sorted(set(c))} for v, c in labels.items()]
    if not rows:
        raise InvalidInput("a gold set needs at least one labelled venture; got none.", field="file")
    with store.session() as session, session.begin():
        session.execute(delete(GoldLabel).where(GoldLabel.gold_set == name))
        session.execute(insert(GoldLabel), rows)
        log_event(
            session,
            actor=actor,
            action="gold_saved",
            entity="gold_set",
            entity_id=name,
            after={"ventures": len(rows)},
        )
    return len(rows)
