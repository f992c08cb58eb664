"""`simap db backup` / `simap db restore` (issue 12 item 11): a consistent copy, a checked restore
that keeps the data it replaces, and the backup every migration makes can be restored."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simap.cli import app
from simap.demo import VENTURES_PATH
from simap.errors import InvalidInput
from simap.pipeline import Project
from simap.store import repo
from simap.store.db import check_backup, open_store
from simap.store.schema import Assignment, Event, Venture

runner = CliRunner()


def cli(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def counts(db: Path) -> tuple[int, int, int]:
    store = open_store(db, migrate=False)
    try:
        return tuple(repo.count(store, t) for t in (Venture, Assignment, Event))  # type: ignore[return-value]
    finally:
        store.dispose()


def integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def test_backup_then_restore_roundtrip(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    with Project.open(db) as proj:
        proj.import_path(Path(str(VENTURES_PATH)))
    backup = tmp_path / "saved" / "p-backup.db"
    assert "Backup written" in cli("db", "backup", "-p", str(db), "-o", str(backup))
    assert check_backup(backup) is None and integrity(backup) == "ok"
    before = counts(db)
    with Project.open(db) as proj:  # work after the backup
        proj.code(embedder="fake")
    after = counts(db)
    assert after != before
    out = " ".join(cli("db", "restore", str(backup), "-p", str(db), "--yes").split())
    assert "Restored" in out and "pre-restore" in out
    assert counts(db) == before and integrity(db) == "ok"
    kept = next(tmp_path.glob("p.db.pre-restore-*"))
    assert counts(kept) == after  # the replaced data are not lost
    with Project.open(db) as proj:  # the restored project works
        assert proj.import_path(Path(str(VENTURES_PATH))).unchanged == before[0]


def test_restore_refuses_what_is_not_a_simap_backup(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    with Project.open(db) as proj:
        proj.import_path(Path(str(VENTURES_PATH)))
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    store = open_store(db, migrate=False)
    try:
        for bad, why in ((junk, "not a SQLite database"), (other, "not a simap project")):
            with pytest.raises(InvalidInput, match=why):
                store.restore(bad)
        with pytest.raises(InvalidInput, match="does not exist"):
            store.restore(tmp_path / "missing.db")
    finally:
        store.dispose()
    assert counts(db)[0] >= 35  # untouched


def test_the_backup_made_before_a_migration_restores(tmp_path: Path) -> None:
    from alembic import command

    from simap.store.db import alembic_config

    db = tmp_path / "old.db"
    old = open_store(db, migrate=False)
    cfg = alembic_config(old.url)
    with old.engine.begin() as conn:  # a project of the first release, with data
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.exec_driver_sql(
            "INSERT INTO ventures (id, name, metadata, created_at, updated_at) "
            "VALUES ('v', 'V', '{}', '2020-01-01', '2020-01-01')"
        )
    old.dispose()
    store = open_store(db)  # opening migrates, after a backup
    made = sorted(tmp_path.glob("old.db.bak-*"))
    assert len(made) == 1 and store.current_revision() == store.head_revision()
    store.restore(made[0])
    assert store.current_revision() == "0001" and repo.count(store, Venture) == 1
    store.dispose()
    again = open_store(db)  # and migrates again (with a new backup)
    assert again.current_revision() == again.head_revision() and repo.count(again, Venture) == 1
    again.dispose()
    assert len(sorted(tmp_path.glob("old.db.bak-*"))) == 2


def test_backup_is_consistent_while_someone_writes(tmp_path: Path) -> None:
    import threading

    db = tmp_path / "p.db"
    with Project.open(db) as proj:
        proj.import_path(Path(str(VENTURES_PATH)))
        stop = threading.Event()

        def write() -> None:
            i = 0
            while not stop.is_set():
                repo.log_event_now(proj.store, actor="t", action="x", entity="e", entity_id=str(i))
                i += 1

        t = threading.Thread(target=write)
        t.start()
        try:
            copies = [proj.store.backup(tmp_path / f"b{i}.db") for i in range(3)]
        finally:
            stop.set()
            t.join()
    for c in copies:
        assert c is not None and integrity(c) == "ok" and check_backup(c) is None
