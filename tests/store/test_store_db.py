from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from simap.batches import IngestBatch
from simap.errors import NotFound
from simap.store import open_store, repo
from simap.store.schema import Event, Segment, Venture


def _batch(text: str = "We collect data. We share it.", vid: str = "v1") -> tuple[IngestBatch, pd.DataFrame]:
    ventures = pd.DataFrame(
        [
            {
                "id": vid,
                "name": "V One",
                "country": "Kenya",
                "sector": "Health",
                "year": 2010,
                "metadata": {"k": 1},
                "source": "f.jsonl:1",
            }
        ]
    )
    documents = pd.DataFrame([{"venture_id": vid, "field": "description", "text": text}])
    first = text.index(".") + 1
    segments = pd.DataFrame(
        [
            {
                "venture_id": vid,
                "field": "description",
                "seq": 0,
                "start": 0,
                "end": first,
                "text": text[:first],
            },
            {
                "venture_id": vid,
                "field": "description",
                "seq": 1,
                "start": first + 1,
                "end": len(text),
                "text": text[first + 1 :],
            },
        ]
    )
    return IngestBatch(ventures, documents), segments


def test_open_creates_schema_at_head(project_path: Path) -> None:
    store = open_store(project_path)
    assert store.current_revision() == store.head_revision()
    assert store.pending() == []
    names = sa.inspect(store.engine).get_table_names()
    assert {"ventures", "documents", "segments", "assignments", "events", "runs", "codebooks"} <= set(names)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_backup_before_migrating_a_file_with_data(project_path: Path) -> None:
    from alembic import command

    from simap.store.db import alembic_config

    old = open_store(project_path, migrate=False)
    cfg = alembic_config(old.url)
    with old.engine.begin() as conn:  # a project created by the first release, with data in it
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.exec_driver_sql(
            "INSERT INTO ventures (id, name, metadata, created_at, updated_at) "
            "VALUES ('v', 'V', '{}', '2020-01-01', '2020-01-01')"
        )
    pending = old.pending()
    old.dispose()
    if not pending:
        pytest.skip("only one migration exists")
    store = open_store(project_path, migrate=False)
    backup = store.migrate()
    assert backup is not None and backup.exists()
    assert store.pending() == [] and store.current_revision() == store.head_revision()
    assert repo.count(store, Venture) == 1
    with sa.create_engine(f"sqlite:///{backup}").connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0001"


def test_upsert_is_idempotent_and_logs_events(store) -> None:
    batch, segs = _batch()
    stats = repo.upsert_ventures(store, batch, segs, actor="tester", source="f.jsonl")
    assert (stats.created, stats.updated, stats.segments) == (1, 0, 2)
    stats = repo.upsert_ventures(store, batch, segs, actor="tester", source="f.jsonl")
    assert (stats.created, stats.updated, stats.unchanged, stats.segments) == (0, 0, 1, 0)
    assert repo.count(store, Segment) == 2
    batch2, segs2 = _batch("We collect more data. We publish it openly.")
    stats = repo.upsert_ventures(store, batch2, segs2, actor="tester", source="f.jsonl")
    assert stats.updated == 1 and stats.segments == 2
    seg = repo.load_segments(store)
    assert seg["text"].tolist() == ["We collect more data.", "We publish it openly."]
    ev = repo.load_events(store)
    assert {"venture_created", "venture_updated", "import"} <= set(ev["action"])


def test_event_log_is_append_only(store) -> None:
    repo.upsert_ventures(store, *_batch(), actor="t", source="s")
    with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:
        conn.execute(sa.delete(Event))
    with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:
        conn.execute(sa.update(Event).values(actor="someone else"))


def test_import_is_one_transaction(store) -> None:
    batch, segs = _batch()
    segs.loc[1, "venture_id"] = "missing-venture"  # breaks a foreign key halfway through
    segs.loc[1, "field"] = "description"
    bad = IngestBatch(
        batch.ventures,
        pd.concat(
            [
                batch.documents,
                pd.DataFrame([{"venture_id": "missing-venture", "field": "description", "text": "x"}]),
            ],
            ignore_index=True,
        ),
    )
    with pytest.raises(sa.exc.IntegrityError):
        repo.upsert_ventures(store, bad, segs, actor="t", source="s")
    assert repo.count(store, Venture) == 0
    assert repo.count(store, Event) == 0


def test_machine_suggestions_and_human_decisions(store, tiny_codebook) -> None:
    repo.upsert_ventures(store, *_batch(), actor="t", source="s")
    version = repo.save_codebook(store, tiny_codebook)
    assert repo.save_codebook(store, tiny_codebook) == version
    run = repo.start_run(store, kind="code", codebook_version=version, model="m", params={"a": 1})
    sugg = pd.DataFrame(
        [
            {
                "venture_id": "v1",
                "code_id": "DATA",
                "score": 0.9,
                "raw": 0.7,
                "evidence": [
                    {"field": "description", "start": 0, "end": 16, "text": "We collect data.", "score": 0.9}
                ],
            }
        ]
    )
    repo.save_machine_suggestions(store, sugg, coder="m", codebook_version=version, run_id=run)
    repo.finish_run(store, run, stats={"n": 1})
    assert repo.latest_coded_codebook(store).version == version
    repo.record_decision(
        store,
        venture_id="v1",
        code_id="DATA",
        coder="ana",
        status="rejected",
        codebook_version=version,
        memo="not field data",
    )
    repo.record_decision(
        store, venture_id="v1", code_id="DATA", coder="ana", status="accepted", codebook_version=version
    )
    a = repo.load_assignments(store, tiny_codebook)
    assert sorted(a["coder"]) == ["ana", "m"]
    assert a.set_index("coder").loc["ana", "status"] == "accepted"
    assert a["kind"].tolist() == ["barrier", "barrier"]
    ev = repo.load_events(store, entity_id="v1:DATA")
    assert ev["action"].tolist() == ["code_accepted", "code_rejected"]
    assert ev.iloc[0]["before"]["status"] == "rejected"
    with pytest.raises(NotFound):
        repo.record_decision(
            store, venture_id="nope", code_id="DATA", coder="ana", status="accepted", codebook_version=version
        )


def test_embedding_cache_roundtrip(store) -> None:
    import numpy as np

    cache = repo.DbEmbeddingCache(store)
    vec = np.arange(4, dtype=np.float32)
    cache.put_many("model", {"h1": vec})
    got = cache.get_many("model", ["h1", "h2"])
    assert list(got) == ["h1"] and np.array_equal(got["h1"], vec)


def test_runs_of_killed_processes_are_marked_interrupted(store) -> None:
    import subprocess
    import sys

    from simap.store.schema import Run

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a process that no longer exists, as after kill -9
    dead = repo.start_run(store, kind="code", codebook_version=None, model="m", params={})
    alive = repo.start_run(store, kind="code", codebook_version=None, model="m", params={})
    with store.session() as s, s.begin():
        s.get(Run, dead).stats = {**s.get(Run, dead).stats, "pid": gone.pid}
    assert repo.mark_interrupted_runs(store) == [dead]
    assert repo.get_run(store, dead).status == "interrupted"
    assert repo.get_run(store, alive).status == "running"  # this process is alive
    repo.finish_run(store, alive, stats={"n": 1})
    assert repo.get_run(store, alive).stats == {"n": 1}
