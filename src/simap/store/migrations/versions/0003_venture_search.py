"""venture list speed: full-text search (SQLite FTS5 / PostgreSQL tsvector), list indexes

SQLite: two external-content FTS5 tables, ``documents_fts`` (documents.text, rowid = documents.id)
and ``ventures_fts`` (ventures.id and name, rowid = the ventures rowid), kept in sync by triggers
on insert, update and delete (cascading deletes fire them too), filled from existing rows here.
Should they ever drift (e.g. rows written with triggers disabled), rebuild them with
``INSERT INTO documents_fts(documents_fts) VALUES('rebuild')`` (same for ``ventures_fts``).

PostgreSQL: GIN expression indexes over ``to_tsvector('simple', ...)`` of the same columns; the
queries in ``simap.store.browse`` use the identical expressions, so no trigger is needed.

Both: ``ventures (name, id)`` (the list's order, so a page is an index range) and
``assignments (status, venture_id)`` (the status filter).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# the prefix indexes make "farm*" (the last word typed) as fast as a whole word
SQLITE_UP = [
    "CREATE VIRTUAL TABLE documents_fts USING fts5(text, content='documents', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2', prefix='2 3')",
    "CREATE VIRTUAL TABLE ventures_fts USING fts5(id, name, content='ventures', "
    "tokenize='unicode61 remove_diacritics 2', prefix='2 3')",
    "CREATE TRIGGER documents_fts_ai AFTER INSERT ON documents BEGIN "
    "INSERT INTO documents_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER documents_fts_ad AFTER DELETE ON documents BEGIN "
    "INSERT INTO documents_fts(documents_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER documents_fts_au AFTER UPDATE OF id, text ON documents BEGIN "
    "INSERT INTO documents_fts(documents_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO documents_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER ventures_fts_ai AFTER INSERT ON ventures BEGIN "
    "INSERT INTO ventures_fts(rowid, id, name) VALUES (new.rowid, new.id, new.name); END",
    "CREATE TRIGGER ventures_fts_ad AFTER DELETE ON ventures BEGIN "
    "INSERT INTO ventures_fts(ventures_fts, rowid, id, name) VALUES ('delete', old.rowid, old.id, old.name); "
    "END",
    "CREATE TRIGGER ventures_fts_au AFTER UPDATE OF id, name ON ventures BEGIN "
    "INSERT INTO ventures_fts(ventures_fts, rowid, id, name) VALUES ('delete', old.rowid, old.id, old.name); "
    "INSERT INTO ventures_fts(rowid, id, name) VALUES (new.rowid, new.id, new.name); END",
    "INSERT INTO documents_fts(documents_fts) VALUES ('rebuild')",
    "INSERT INTO ventures_fts(ventures_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    *(f"DROP TRIGGER IF EXISTS {t}_fts_{w}" for t in ("documents", "ventures") for w in ("ai", "ad", "au")),
    "DROP TABLE IF EXISTS documents_fts",
    "DROP TABLE IF EXISTS ventures_fts",
]
# keep these expressions identical to simap.store.browse (the planner matches them textually)
POSTGRES_UP = [
    "CREATE INDEX ix_documents_text_tsv ON documents USING gin (to_tsvector('simple'::regconfig, text))",
    "CREATE INDEX ix_ventures_search_tsv ON ventures USING gin "
    "(to_tsvector('simple'::regconfig, (id::text || ' '::text) || name))",
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS ix_documents_text_tsv",
    "DROP INDEX IF EXISTS ix_ventures_search_tsv",
]


def upgrade() -> None:
    with op.batch_alter_table("ventures", schema=None) as batch_op:
        batch_op.create_index("ix_ventures_name", ["name", "id"], unique=False)
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_index("ix_assignments_status", ["status", "venture_id"], unique=False)
    dialect = op.get_bind().dialect.name
    for sql in SQLITE_UP if dialect == "sqlite" else POSTGRES_UP if dialect == "postgresql" else []:
        op.execute(sql)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for sql in SQLITE_DOWN if dialect == "sqlite" else POSTGRES_DOWN if dialect == "postgresql" else []:
        op.execute(sql)
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index("ix_assignments_status")
    with op.batch_alter_table("ventures", schema=None) as batch_op:
        batch_op.drop_index("ix_ventures_name")
