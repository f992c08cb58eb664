"""Opening a project database and keeping its schema current.

``open_store("project.simap.db")`` opens (and creates) a SQLite project file with WAL and
foreign keys on; ``open_store("postgresql+psycopg://...")`` opens a PostgreSQL database. The
schema is managed by the Alembic migrations in ``simap/store/migrations``; before a SQLite file
with data is migrated, a copy is written next to it (``<file>.bak-<timestamp>``).
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from simap.errors import BackendUnavailable, InvalidInput, MigrationError

DEFAULT_PROJECT = "simap-project.db"


def database_url(target: str | Path) -> str:
    text = str(target)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("simap.store") / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


class Store:
    """A project database: an engine, a session factory and the migration state."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self.path: Path | None = Path(parsed.database) if self.is_sqlite and parsed.database else None
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if not self.is_sqlite:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Session:
        return self.sessions()

    # -- migrations -----------------------------------------------------------------------
    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(alembic_config(self.url)).get_current_head()

    def pending(self) -> list[str]:
        script = ScriptDirectory.from_config(alembic_config(self.url))
        current = self.current_revision()
        revs = [r.revision for r in script.walk_revisions(base="base", head="heads")]
        revs.reverse()
        if current is None:
            return revs
        return revs[revs.index(current) + 1 :] if current in revs else revs

    def backup(self, dest: str | Path | None = None) -> Path | None:
        """A consistent copy of a SQLite project (SQLite's online backup: safe while others read
        and write) at ``dest`` (default ``<file>.bak-<UTC timestamp>`` next to it). ``None`` for
        an empty or missing file. PostgreSQL: use ``pg_dump`` (raises :class:`BackendUnavailable`)."""
        if not self.is_sqlite:
            raise BackendUnavailable(
                f"simap backs up SQLite projects only; {self.url.split('@')[-1]} is a server database.",
                hint="back it up with the server's tools, e.g. pg_dump -Fc DBNAME > project.dump",
            )
        if self.path is None or not self.path.exists():
            return None
        with self.engine.connect() as conn:
            if not inspect(conn).get_table_names():
                return None
        if dest is None:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            target = self.path.with_name(f"{self.path.name}.bak-{stamp}")
        else:
            target = Path(dest).expanduser().resolve()
        if target == self.path.resolve():
            raise InvalidInput("a backup cannot overwrite the project itself.", field="out")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        tmp.unlink(missing_ok=True)
        src = sqlite3.connect(str(self.path), timeout=30)
        try:
            dst = sqlite3.connect(str(tmp))
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
        os.replace(tmp, target)  # never a half-written backup under the final name
        return target

    def restore(self, source: str | Path, *, keep_current: bool = True) -> Path | None:
        """Replace this SQLite project with the backup ``source`` (checked first: a readable
        simap database passing ``PRAGMA integrity_check``). The current data are first saved as
        ``<file>.pre-restore-<timestamp>`` (returned) unless ``keep_current=False``. Stop the web
        server and other writers before restoring."""
        if not self.is_sqlite or self.path is None:
            raise BackendUnavailable(
                "simap restores SQLite projects only.", hint="restore a server database with pg_restore"
            )
        src_path = Path(source).expanduser().resolve()
        problem = check_backup(src_path)
        if problem:
            raise InvalidInput(problem, source=str(src_path), hint="pick a file written by `simap db backup`")
        saved = None
        if keep_current and self.path.exists():
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            saved = self.backup(self.path.with_name(f"{self.path.name}.pre-restore-{stamp}"))
        self.engine.dispose()
        src = sqlite3.connect(str(src_path))
        try:
            dst = sqlite3.connect(str(self.path), timeout=30)
            try:
                src.backup(dst)  # page by page into the live file, WAL included
            finally:
                dst.close()
        finally:
            src.close()
        return saved

    def migrate(self, *, backup: bool = True) -> Path | None:
        """Bring the schema to the newest revision; returns the backup path if one was made
        (a SQLite file with data is backed up before every migration)."""
        if not self.pending():
            return None
        made = self.backup() if backup and self.is_sqlite else None
        cfg = alembic_config(self.url)
        try:
            with self.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except Exception as exc:  # pragma: no cover - exercised only on broken databases
            raise MigrationError(
                f"migrating {self.url} failed: {exc}.",
                hint=f"the database was left unchanged; a backup is at {made}" if made else None,
            ) from exc
        return made

    def dispose(self) -> None:
        self.engine.dispose()


def check_backup(path: Path) -> str | None:
    """Why ``path`` is not a usable simap SQLite backup, or ``None`` when it is."""
    if not path.is_file():
        return "the backup file does not exist."
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            ok = conn.execute("PRAGMA integrity_check").fetchone()
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return f"not a SQLite database ({exc})."
    if not ok or ok[0] != "ok":
        return f"the backup is damaged (integrity check: {ok[0] if ok else 'no answer'})."
    if not {"alembic_version", "ventures", "events"} <= tables:
        return "not a simap project (no ventures/events/alembic_version tables)."
    return None


def open_store(target: str | Path = DEFAULT_PROJECT, *, migrate: bool = True, echo: bool = False) -> Store:
    """Open a project database, creating and migrating it unless ``migrate=False``."""
    url = database_url(target)
    store = Store(url, echo=echo)
    if store.path is not None:
        store.path.parent.mkdir(parents=True, exist_ok=True)
    if migrate:
        store.migrate()
    return store
