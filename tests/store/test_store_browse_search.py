"""The venture list's full-text search (migration 0003: SQLite FTS5 kept in sync by triggers,
PostgreSQL tsvector expression indexes), its counts and filters. Runs on SQLite, and also on
PostgreSQL when SIMAP_TEST_DATABASE_URL is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from simap.batches import IngestBatch
from simap.ingest.segment import segment_documents
from simap.store import browse, open_store, repo
from simap.store.browse import VentureFilter
from simap.store.schema import Venture

PG_URL = os.environ.get("SIMAP_TEST_DATABASE_URL")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(not PG_URL, reason="no PG"))]

VENTURES = [
    ("v1", "Field Survey Co", "Health workers collect survey data on mobile phones."),
    ("v2", "Open Lessons", "Openly licensed lessons anyone can reuse. Teachers share them."),
    ("v3", "Weather Now", "The app shows the weather. Farmers plan their harvest with it."),
    ("v4", "Wiki Health", "A wiki written by volunteers. It collects data from clinics, for COVID-19."),
    ("kenya-maps-2", "Mapeo Kenya", "Communities map their land; Ürban planners use it."),
]


@pytest.fixture(params=BACKENDS)
def target(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "project.db")
        return
    assert PG_URL
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    admin.dispose()


def load(store: Any, rows: list[tuple[str, str, str]], field: str = "description") -> None:
    ventures = pd.DataFrame(
        [
            {"id": i, "name": n, "country": "Kenya", "sector": "Health", "year": 2015, "metadata": {}}
            for i, n, _ in rows
        ]
    )
    docs = pd.DataFrame([{"venture_id": i, "field": field, "text": t} for i, _, t in rows])
    repo.upsert_ventures(store, IngestBatch(ventures, docs), segment_documents(docs), actor="t", source="t")


@pytest.fixture
def store(target: str) -> Iterator[Any]:
    s = open_store(target)
    load(s, VENTURES)
    yield s
    s.dispose()


def found(store: Any, q: str, **kw: Any) -> list[str]:
    page = browse.list_ventures(store, VentureFilter(q=q, per_page=200, **kw))
    ids = [r["id"] for r in page.rows]
    assert page.total == len(ids)
    return sorted(ids)


def test_search_finds_words_in_texts_names_and_ids(store: Any) -> None:
    assert found(store, "survey") == ["v1"]  # text and name
    assert found(store, "harvest") == ["v3"]  # text only
    assert found(store, "WEATHER") == ["v3"]  # case-insensitive
    assert found(store, "wiki clinics") == ["v4"]  # every word must match
    assert found(store, "lessons farmers") == []
    assert found(store, "mapeo harvest") == []
    assert found(store, "open teachers") == ["v2"]  # one word in the name, one in the text
    assert found(store, "v3") == ["v3"]  # the id
    assert found(store, "kenya-maps-2") == ["kenya-maps-2"]  # an id with punctuation: a phrase
    assert found(store, "covid-19") == ["v4"]
    assert found(store, "collect data") == ["v1"]  # whole words, except the last word ...
    assert found(store, "data collect") == ["v1", "v4"]  # ... which is also a prefix (collects)
    assert found(store, "farm") == ["v3"]
    assert found(store, "ürban") == ["kenya-maps-2"]
    if store.engine.dialect.name == "sqlite":  # FTS5 removes diacritics; PostgreSQL's 'simple' does not
        assert found(store, "urban") == ["kenya-maps-2"]
    assert found(store, "nothing-like-this") == []


@pytest.mark.parametrize(
    "q",
    ['"', "data AND", "NEAR(data", "data*", "-data", "col:data", "'data'", "^data", "(", "%", "a_b", "\\"],
)
def test_query_syntax_is_never_an_error(store: Any, q: str) -> None:
    """What users type is words, not FTS5 / tsquery syntax: nothing raises."""
    found(store, q)
    assert found(store, "data AND") == []  # 'AND' is a word here, and no text has a word starting with it
    assert found(store, "(data)") == ["v1", "v4"]


def test_search_follows_reimports_new_ventures_and_deletions(store: Any) -> None:
    """The FTS tables are kept in sync by triggers (SQLite); PostgreSQL indexes expressions."""
    assert found(store, "harvest") == ["v3"]
    load(store, [("v3", "Weather Today", "Fishers plan their catch with the tides.")])  # re-import
    assert found(store, "harvest") == []
    assert found(store, "fishers tides") == ["v3"]
    assert found(store, "today") == ["v3"]
    assert found(store, "now weather") == []  # the old name is gone
    load(store, [("v9", "Solar Grid", "Villages share solar power.")])  # new
    assert found(store, "solar") == ["v9"]
    load(store, [("v9", "Solar Grid", "Irrigation pumps.")], field="mission")  # its text is replaced
    assert found(store, "irrigation solar") == ["v9"]
    assert found(store, "villages") == []
    with store.engine.begin() as conn:  # deleting a venture deletes its documents (cascade)
        conn.execute(sa.delete(Venture).where(Venture.id == "v9"))
    assert found(store, "solar") == []
    assert found(store, "irrigation") == []


def test_search_with_filters_and_counts(store: Any) -> None:
    assert found(store, "data", country="Kenya") == ["v1", "v4"]
    assert found(store, "data", country="Peru") == []
    page = browse.list_ventures(store, VentureFilter(q="data", per_page=1, page=2))
    assert page.total == 2 and len(page.rows) == 1
    page = browse.list_ventures(store, VentureFilter(per_page=2, page=3))
    assert page.total == 5 and [r["id"] for r in page.rows] == ["v4"]  # by name: ... Wiki Health
    page = browse.list_ventures(store, VentureFilter(per_page=2, page=9))
    assert page.total == 5 and page.rows == []
    assert browse.list_ventures(store, VentureFilter(status="accepted")).total == 0


def test_migration_indexes_existing_ventures(tmp_path: Any) -> None:
    """A project created before 0003 gets its ventures indexed when it is migrated."""
    from alembic import command

    from simap.store.db import alembic_config

    path = tmp_path / "old.db"
    old = open_store(path)
    load(old, VENTURES)
    cfg = alembic_config(old.url)
    with old.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002")
    names = set(sa.inspect(old.engine).get_table_names())
    assert "documents_fts" not in names and "ventures_fts" not in names
    old.dispose()
    store = open_store(path)
    assert store.current_revision() == "0004"
    assert found(store, "harvest") == ["v3"]
    assert found(store, "mapeo") == ["kenya-maps-2"]
    store.dispose()


def test_postgresql_search_uses_the_expression_indexes(target: str) -> None:
    if not target.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    store = open_store(target)
    try:
        load(store, VENTURES)
        flt = VentureFilter(q="harvest")
        q = browse._filtered(sa.select(Venture.id), flt, None, "postgresql")
        sql = str(q.compile(store.engine, compile_kwargs={"literal_binds": True}))
        with store.engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql))
        assert "ix_documents_text_tsv" in plan and "ix_ventures_search_tsv" in plan, plan
    finally:
        store.dispose()
