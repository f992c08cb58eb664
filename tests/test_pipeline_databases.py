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


def test_suggestions_store_the_same_whichever_way_they_are_written(database: str) -> None:
    """Evidence as dicts, or as the JSON text the coding stage serialises on its worker, and the
    column-wise fast write (SQLite) or the generic upsert: the same stored rows."""
    import json

    import pandas as pd

    with Project.open(database) as proj:
        proj.import_path(Path(str(VENTURES_PATH)))
        version = repo.save_codebook(proj.store, proj.resolve_codebook(None), actor="test")
        run = repo.start_run(proj.store, kind="code", codebook_version=version, model="m", params={})
        ids = sorted(repo.load_ventures(proj.store)["id"])[:3]
        evidence = [{"field": "description", "start": 0, "end": 4, "text": "Café", "score": 0.25}]
        frame = pd.DataFrame(
            {"venture_id": ids, "code_id": "B2", "score": [0.1, 0.5, 0.9], "raw": [-1.0, 0.0, 2.5]}
        )
        frame["evidence"] = [evidence] * len(frame)
        as_json = frame.drop(columns=["evidence"]).assign(evidence_json=[json.dumps(evidence)] * len(frame))
        for coder, batch in (("dicts", frame), ("json", as_json)):
            n = repo.save_machine_suggestions(
                proj.store, batch, coder=coder, codebook_version=version, run_id=run
            )
            assert n == 3
        again = frame.assign(score=[0.2, 0.6, 0.95])  # an upsert replaces the machine's rows
        repo.save_machine_suggestions(proj.store, again, coder="json", codebook_version=version, run_id=run)
        with proj.store.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT coder, venture_id, score, raw, status, evidence FROM assignments "
                    "WHERE code_id = 'B2' ORDER BY coder, venture_id"
                )
            ).all()
    by_coder: dict[str, list[tuple[object, ...]]] = {}
    for coder, *rest in rows:
        rest[-1] = json.loads(rest[-1]) if isinstance(rest[-1], str) else rest[-1]
        by_coder.setdefault(coder, []).append(tuple(rest))
    assert [r[1] for r in by_coder["dicts"]] == [0.1, 0.5, 0.9]
    assert [r[1] for r in by_coder["json"]] == [0.2, 0.6, 0.95]
    assert [r[2:] for r in by_coder["dicts"]] == [r[2:] for r in by_coder["json"]]
    assert by_coder["dicts"][0][-1] == evidence
