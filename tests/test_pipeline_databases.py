"""The whole loop on the configured database: SQLite, or PostgreSQL when SIMAP_TEST_DATABASE_URL is set."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from simap.demo import GOLD_PATH, VENTURES_PATH
from simap.pipeline import Project
from simap.store import repo
from simap.store.schema import Event, Venture


def test_loop_on_the_database(database: str, tmp_path: Path) -> None:
    with Project.open(database) as proj:
        stats = proj.import_path(Path(str(VENTURES_PATH)))
        assert stats.created >= 35
        again = proj.import_path(Path(str(VENTURES_PATH)))
        assert again.created == 0 and again.unchanged == stats.created
        result = proj.code(embedder="fake")
        assert result.suggestions == stats.created * 14
        proj.import_codes(Path(str(GOLD_PATH)), coder="gold")
        assert proj.evaluate(Path(str(GOLD_PATH))).n_items == stats.created
        proj.write_report(tmp_path / "m.html")
        with pytest.raises(sa.exc.DBAPIError), proj.store.engine.begin() as conn:
            conn.execute(sa.delete(Event))  # the event log is append-only on every database


def test_concurrent_decisions_lose_nothing(database: str) -> None:
    with Project.open(database) as proj:
        proj.import_path(Path(str(VENTURES_PATH)))
        proj.code(embedder="fake")
        book = proj.current_codebook()
        ids = sorted(repo.load_ventures(proj.store)["id"])[:10]
        errors: list[BaseException] = []

        def work(coder: str) -> None:
            try:
                for vid in ids:
                    for code in ("B2", "DP4"):
                        repo.record_decision(
                            proj.store,
                            venture_id=vid,
                            code_id=code,
                            coder=coder,
                            status="accepted",
                            codebook_version=book.version,
                        )
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(name,)) for name in ("ana", "ben")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        a = repo.load_assignments(proj.store, book)
        assert len(a[a["source"] == "human"]) == 2 * len(ids) * 2
        assert repo.count(proj.store, Venture) >= 35
