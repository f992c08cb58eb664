"""Two reviewers deciding the same suggestion at once (issue 12 item 11): no decision lost or
duplicated, the stale write refused with Conflict (HTTP 409). Runs on SQLite, and on PostgreSQL
when SIMAP_TEST_DATABASE_URL is set (the ``database`` fixture)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from simap.demo import VENTURES_PATH
from simap.errors import Conflict
from simap.pipeline import Project
from simap.review import actions
from simap.store import repo
from simap.store.schema import Assignment, Event


@pytest.fixture
def proj(database: str):
    p = Project.open(database)
    p.import_path(Path(str(VENTURES_PATH)))
    p.code(embedder="fake")
    yield p
    p.close()


def _events(proj: Project, vid: str, code: str) -> int:
    with proj.store.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).where(Event.entity == "assignment", Event.entity_id == f"{vid}:{code}")
            ).scalar_one()
        )


def test_a_stale_decision_is_refused_and_nothing_is_lost(proj: Project) -> None:
    book = proj.current_codebook()
    vid = "ushahidi"
    v0 = actions.venture_view(proj.store, book, vid, viewer="ana").codes[0]
    code, base = v0.code_id, v0.version
    assert base == repo.pair_version(proj.store, vid, code) == 0
    first = actions.decide(
        proj.store, book, venture_id=vid, code_id=code, user="ana", status="accepted", base=base
    )
    assert first["version"] > base
    with pytest.raises(Conflict) as err:  # ben opened the venture before ana decided
        actions.decide(
            proj.store, book, venture_id=vid, code_id=code, user="ben", status="rejected", base=base
        )
    assert err.value.http_status == 409 and "reload" in str(err.value)
    again = actions.venture_view(proj.store, book, vid, viewer="ben")
    fresh = next(c for c in again.codes if c.code_id == code).version
    assert fresh == first["version"]
    actions.decide(proj.store, book, venture_id=vid, code_id=code, user="ben", status="rejected", base=fresh)
    rows = repo.load_assignments(proj.store, book)
    human = rows[(rows["venture_id"] == vid) & (rows["code_id"] == code) & (rows["source"] == "human")]
    assert sorted(zip(human["coder"], human["status"], strict=True)) == [
        ("ana", "accepted"),
        ("ben", "rejected"),
    ]
    assert _events(proj, vid, code) == 2  # the refused write left no trace
    # without a base (scripts, the CLI) a decision is never refused
    actions.decide(proj.store, book, venture_id=vid, code_id=code, user="ana", status="rejected")


def test_two_reviewers_at_once_one_wins_one_gets_409(proj: Project) -> None:
    book = proj.current_codebook()
    ids = sorted(repo.load_ventures(proj.store)["id"])[:8]
    pairs = [(v, c) for v in ids for c in book.ids()[:2]]
    outcomes: list[tuple[str, str, str]] = []
    errors: list[BaseException] = []

    for vid, code in pairs:
        base = repo.pair_version(proj.store, vid, code)
        barrier = threading.Barrier(2)

        def work(user: str, vid: str = vid, code: str = code, base: int = base, b=barrier) -> None:
            b.wait()
            try:
                actions.decide(
                    proj.store, book, venture_id=vid, code_id=code, user=user, status="accepted", base=base
                )
                outcomes.append((vid, code, "ok"))
            except Conflict:
                outcomes.append((vid, code, "409"))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(u,)) for u in ("ana", "ben")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    for vid, code in pairs:
        mine = sorted(o for v, c, o in outcomes if (v, c) == (vid, code))
        assert mine == ["409", "ok"], (vid, code, mine)
        assert _events(proj, vid, code) == 1  # one decision kept, none duplicated
    with proj.store.engine.connect() as conn:
        n = conn.execute(
            select(func.count()).where(Assignment.source == "human", Assignment.status == "accepted")
        ).scalar_one()
    assert n == len(pairs)
