"""Review actions on one venture: accept, reject, add a code, edit an evidence span; and the
venture as a reviewer sees it (texts, codes with their evidence, history).

Each action is one call to :func:`simap.store.repo.record_decision` (one transaction that also
writes the event with before and after), so every decision is attributable. The CLI, the web
pages and the JSON API all call these functions.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.exc import OperationalError

from simap.codebook.schema import Codebook
from simap.errors import InvalidInput, expected
from simap.maps.select import evidence_list
from simap.store import browse, repo
from simap.store.db import Store

T = TypeVar("T")


@dataclass(frozen=True)
class Span:
    """A stretch of one document text: ``text[start:end]`` of field ``field``."""

    field: str
    start: int
    end: int


def _retry(fn: Callable[[], T], attempts: int = 8) -> T:
    """Run a write transaction, retrying when SQLite reports a concurrent writer (it never loses one)."""
    for i in range(attempts):
        try:
            return fn()
        except OperationalError as exc:
            if ("locked" not in str(exc) and "busy" not in str(exc).lower()) or i == attempts - 1:
                raise
            time.sleep(0.01 * (2**i) * (0.5 + random.random()))
    raise AssertionError("unreachable")  # pragma: no cover


def check_code(codebook: Codebook, code_id: str) -> None:
    if code_id not in codebook.ids():
        raise InvalidInput(
            expected("code", f"an active code of codebook {codebook.name!r}", code_id),
            field="code_id",
            hint=f"use one of {', '.join(codebook.ids())}",
        )


def evidence_from_spans(store: Store, venture_id: str, spans: Sequence[Span]) -> list[dict[str, Any]]:
    """Evidence items for spans, checked against the venture's documents (text filled in)."""
    _, docs = browse.get_venture(store, venture_id)
    texts = dict(docs)
    out = []
    for span in spans:
        text = texts.get(span.field)
        if text is None:
            raise InvalidInput(
                expected("evidence field", f"one of the venture's fields {sorted(texts)}", span.field),
                field="evidence",
            )
        if not 0 <= span.start < span.end <= len(text):
            raise InvalidInput(
                expected("evidence span", f"0 <= start < end <= {len(text)}", (span.start, span.end)),
                field="evidence",
                hint="select a stretch of the text",
            )
        out.append(
            {"field": span.field, "start": span.start, "end": span.end, "text": text[span.start : span.end]}
        )
    return out


def _rows(store: Store, venture_id: str, code_id: str) -> list[dict[str, Any]]:
    return [r for r in browse.assignment_rows(store, [venture_id]) if r["code_id"] == code_id]


def present_pairs(rows: Iterable[dict[str, Any]], *, min_score: float = 0.5) -> set[tuple[str, str]]:
    """(venture id, code id) pairs that count as present: the rules of
    :func:`simap.maps.select.effective_codes` (human decision > machine decision > human
    suggestion > machine suggestion, later row wins a tie; a suggestion counts from ``min_score``,
    taking the best score of the pair), for a handful of rows without pandas."""
    best: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
    scores: dict[tuple[str, str], tuple[int, float]] = {}
    for r in rows:
        key = (str(r["venture_id"]), str(r["code_id"]))
        prio = 2 * (r["status"] in ("accepted", "rejected")) + (r["source"] == "human")
        if key not in best or prio >= best[key][0]:
            best[key] = (prio, r)
        score = r.get("score")
        if score is not None and not math.isnan(score) and (key not in scores or prio >= scores[key][0]):
            scores[key] = (prio, float(score))
    suggested_ok = {k for k, (_, score) in scores.items() if score >= min_score}
    return {
        key
        for key, (_, r) in best.items()
        if r["status"] == "accepted" or (r["status"] == "suggested" and key in suggested_ok)
    }


def decide(
    store: Store,
    codebook: Codebook,
    *,
    venture_id: str,
    code_id: str,
    user: str,
    status: str,
    memo: str | None = None,
    spans: Sequence[Span] | None = None,
    base: int | None = None,
) -> dict[str, Any]:
    """Record ``user``'s decision on a venture x code and return it (with the pair's new
    ``version``).

    Without spans, the evidence is the user's earlier evidence or else the machine's; without a
    memo, the user's earlier memo stays. ``base``: the ``version`` of the venture x code the user
    saw (:attr:`CodeView.version`); a decision made since by anyone makes this one stale and it
    is refused with :class:`~simap.errors.Conflict` (HTTP 409), nothing written.
    """
    check_code(codebook, code_id)
    rows = _rows(store, venture_id, code_id)
    mine = next((r for r in rows if r["source"] == "human" and r["coder"] == user), None)
    machine = [r for r in rows if r["source"] == "machine"]
    if spans:
        evidence = evidence_from_spans(store, venture_id, spans)
    elif mine is not None and evidence_list(mine["evidence"]):
        evidence = evidence_list(mine["evidence"])
    elif machine and status == "accepted":
        evidence = evidence_list(machine[-1]["evidence"])
    else:
        evidence = []
    if memo is None and mine is not None:
        memo = mine["memo"]
    score = None
    if machine and machine[-1]["score"] is not None and not math.isnan(machine[-1]["score"]):
        score = float(machine[-1]["score"])
    version = _retry(
        lambda: repo.record_decision(
            store,
            venture_id=venture_id,
            code_id=code_id,
            coder=user,
            status=status,
            codebook_version=codebook.version,
            evidence=evidence,
            memo=memo or None,
            score=score,
            base=base,
        )
    )
    return {
        "venture_id": venture_id,
        "code_id": code_id,
        "coder": user,
        "status": status,
        "evidence": evidence,
        "memo": memo,
        "version": version,
    }


def accept(
    store: Store, codebook: Codebook, venture_id: str, code_id: str, *, user: str, memo: str | None = None
) -> dict[str, Any]:
    return decide(
        store, codebook, venture_id=venture_id, code_id=code_id, user=user, status="accepted", memo=memo
    )


def reject(
    store: Store, codebook: Codebook, venture_id: str, code_id: str, *, user: str, memo: str | None = None
) -> dict[str, Any]:
    return decide(
        store, codebook, venture_id=venture_id, code_id=code_id, user=user, status="rejected", memo=memo
    )


def add_code(
    store: Store,
    codebook: Codebook,
    venture_id: str,
    code_id: str,
    *,
    user: str,
    spans: Sequence[Span] = (),
    memo: str | None = None,
) -> dict[str, Any]:
    """A code the machine missed (or any code), accepted by ``user`` with evidence and a memo."""
    return decide(
        store,
        codebook,
        venture_id=venture_id,
        code_id=code_id,
        user=user,
        status="accepted",
        memo=memo,
        spans=spans,
    )


def edit_span(
    store: Store, codebook: Codebook, venture_id: str, code_id: str, *, user: str, spans: Sequence[Span]
) -> dict[str, Any]:
    """Replace the evidence of ``user``'s decision (accepting the code when undecided)."""
    if not spans:
        raise InvalidInput("editing evidence needs at least one span; got none.", field="evidence")
    mine = [r for r in _rows(store, venture_id, code_id) if r["source"] == "human" and r["coder"] == user]
    status = mine[0]["status"] if mine and mine[0]["status"] in ("accepted", "rejected") else "accepted"
    if status == "rejected":
        raise InvalidInput(
            f"you rejected {code_id} on {venture_id}: evidence is for a code that applies, not for a "
            "rejection; got a span for a rejected code.",
            field="evidence",
            hint="accept the code first (a), then attach the selection (e)",
        )
    return decide(
        store, codebook, venture_id=venture_id, code_id=code_id, user=user, status=status, spans=spans
    )


# -- undo ------------------------------------------------------------------------------------------
DECISION_ACTIONS = ("code_accepted", "code_rejected")
UNDO_ACTION = "code_undone"


def last_decision(store: Store, user: str, venture_id: str | None = None) -> dict[str, Any] | None:
    """``user``'s newest decision event that was not undone yet (on ``venture_id`` if given)."""
    from sqlalchemy import select

    from simap.store.schema import Event

    q = select(Event.id, Event.entity_id, Event.before, Event.after, Event.action).where(
        Event.actor == user, Event.entity == "assignment", Event.action.in_([*DECISION_ACTIONS, UNDO_ACTION])
    )
    if venture_id is not None:
        q = q.where(
            Event.entity_id.like(venture_id.replace("%", r"\%").replace("_", r"\_") + ":%", escape="\\")
        )
    undone: set[int] = set()
    with store.engine.connect() as conn:
        for eid, entity_id, before, after, action in conn.execute(q.order_by(Event.id.desc()).limit(500)):
            if action == UNDO_ACTION:
                undone.add(int((after or {}).get("undid_event", -1)))
                continue
            if int(eid) in undone:
                continue
            vid, _, code = str(entity_id).rpartition(":")
            return {
                "event_id": int(eid),
                "venture_id": vid,
                "code_id": code,
                "before": before,
                "after": after,
            }
    return None


def undo_last(store: Store, user: str, venture_id: str | None = None) -> dict[str, Any]:
    """Undo ``user``'s last decision (on ``venture_id`` if given): the decision goes back to what it
    was before (or is removed when there was none); logged as ``code_undone``."""
    from sqlalchemy import delete, select, update

    from simap.store.repo import log_event
    from simap.store.schema import Assignment, utcnow

    last = last_decision(store, user, venture_id)
    if last is None:
        raise InvalidInput(
            f"there is no decision of {user!r} to undo" + (f" on {venture_id!r}." if venture_id else "."),
            hint="decide a code first",
        )
    vid, code, before = last["venture_id"], last["code_id"], last["before"]

    def write() -> None:
        with store.session() as session, session.begin():
            where = (Assignment.venture_id == vid) & (Assignment.code_id == code) & (Assignment.coder == user)
            now_row = session.execute(
                select(Assignment.status, Assignment.evidence, Assignment.memo).where(where)
            ).first()
            if before is None:
                session.execute(delete(Assignment).where(where))
            else:
                session.execute(
                    update(Assignment)
                    .where(where)
                    .values(
                        status=before.get("status"),
                        evidence=before.get("evidence") or [],
                        memo=before.get("memo"),
                        updated_at=utcnow(),
                    )
                )
            log_event(
                session,
                actor=user,
                action=UNDO_ACTION,
                entity="assignment",
                entity_id=f"{vid}:{code}",
                before=None
                if now_row is None
                else {"status": now_row[0], "evidence": now_row[1], "memo": now_row[2]},
                after={"undid_event": last["event_id"], **(before or {"status": None})},
            )

    _retry(write)
    return {"venture_id": vid, "code_id": code, "restored": before}


# -- the venture as a reviewer sees it -------------------------------------------------------------
@dataclass
class CodeView:
    code_id: str
    name: str
    kind: str
    definition: str
    score: float | None = None  # the machine's calibrated score
    machine_evidence: list[dict[str, Any]] = field(default_factory=list)
    mine: str | None = None  # the viewer's status (accepted | rejected | None)
    my_memo: str | None = None
    my_evidence: list[dict[str, Any]] = field(default_factory=list)
    others: list[dict[str, Any]] = field(default_factory=list)  # other coders: coder, status, memo
    present: bool = False  # counts in the map (human decisions override the machine)
    version: int | None = 0  # of the pair's decisions, sent back as ``base`` to refuse stale writes
    # (None on a venture that is blind for the viewer)

    @property
    def evidence(self) -> list[dict[str, Any]]:
        return self.my_evidence or self.machine_evidence


@dataclass
class VentureView:
    venture: dict[str, Any]
    documents: list[tuple[str, str]]
    codes: list[CodeView]
    events: list[dict[str, Any]]


def venture_view(
    store: Store,
    codebook: Codebook,
    venture_id: str,
    *,
    viewer: str,
    hidden: browse.Hidden | None = None,
    min_score: float = 0.5,
) -> VentureView:
    """Texts, codes (the machine's, the viewer's, other coders' unless blind) and history."""
    from simap.review.blind import blind_ventures

    venture, documents = browse.get_venture(store, venture_id)
    rows = browse.assignment_rows(store, [venture_id], hidden=hidden)
    present = {code for _, code in present_pairs(rows, min_score=min_score)}
    by_code: dict[str, CodeView] = {}
    for code in codebook.active_codes:
        by_code[code.id] = CodeView(
            code.id, code.name, code.kind, code.definition, present=code.id in present
        )
    for r in rows:
        view = by_code.get(r["code_id"])
        if view is None:
            continue
        if r["source"] == "machine":
            score = None if r["score"] is None or math.isnan(r["score"]) else float(r["score"])
            if view.score is None or (score is not None and score >= view.score):
                view.score = score  # several machine coders (zero-shot, trained): the best score
                view.machine_evidence = evidence_list(r["evidence"])
        elif r["coder"] == viewer:
            view.mine, view.my_memo, view.my_evidence = r["status"], r["memo"], evidence_list(r["evidence"])
        else:
            view.others.append({"coder": r["coder"], "status": r["status"], "memo": r["memo"]})
    # the order depends on the machine only, so a decision never moves a card under the cursor
    order = {c.id: i for i, c in enumerate(codebook.active_codes)}
    codes = sorted(by_code.values(), key=lambda v: (v.score is None, -(v.score or 0.0), order[v.code_id]))
    events = browse.venture_events(store, venture_id)
    blind = hidden is not None and not hidden.empty and venture_id in blind_ventures(store, hidden)
    # a blind coder must not learn that the other coder decided: no stale-write check for them
    if blind:
        for view in by_code.values():
            view.version = None
    for code_id, version in ({} if blind else repo.pair_versions(store, venture_id)).items():
        if code_id in by_code:
            by_code[code_id].version = version
    if blind:
        events = [e for e in events if e["actor"] == viewer or e["action"].startswith("venture_")]
    return VentureView(venture, documents, codes, events)
