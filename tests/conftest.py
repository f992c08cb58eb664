"""Shared fixtures: a fresh SQLite project per test, a tiny codebook, the fake embedder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from simap.codebook import Codebook, from_dict

SHARED_DATA = Path(
    os.environ.get("SIMAP_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


def _shared_file(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"real data {path} is absent (set SIMAP_SHARED_DATA to the folder holding {name})")
    return path


@pytest.fixture
def shared_file():
    """``shared_file(name)``: a file of ../shared/data, or skip the test with a message saying why."""
    return _shared_file


TINY_CODEBOOK = {
    "name": "tiny",
    "title": "Tiny test codebook",
    "kinds": ["design_principle", "barrier"],
    "codes": [
        {
            "id": "DATA",
            "kind": "barrier",
            "name": "Data collection",
            "definition": "Collecting field data with mobile surveys.",
            "examples": [
                "Health workers collect survey data on mobile phones.",
                "A tool for field data collection.",
            ],
            "counter_examples": ["The app shows the weather."],
            "cues": ["data collection", "survey*"],
        },
        {
            "id": "OPEN",
            "kind": "design_principle",
            "name": "Open knowledge",
            "definition": "Open content that anyone can reuse and adapt.",
            "examples": [
                "Openly licensed lessons anyone can reuse and adapt.",
                "A wiki written by volunteers.",
            ],
            "counter_examples": ["The company sells textbooks."],
            "cues": ["openly licensed", "wiki"],
            "related": ["DATA"],
        },
    ],
}


@pytest.fixture
def tiny_codebook() -> Codebook:
    return from_dict(TINY_CODEBOOK)


@pytest.fixture
def project_path(tmp_path: Path) -> Path:
    return tmp_path / "project.db"


@pytest.fixture
def store(project_path: Path):
    from simap.store import open_store

    s = open_store(project_path)
    yield s
    s.dispose()


@pytest.fixture
def fake_embedder():
    from simap.embed import get_embedder

    return get_embedder("fake")


@pytest.fixture
def database(tmp_path: Path):
    """A fresh project database: a SQLite file, or a new schema on SIMAP_TEST_DATABASE_URL (CI sets
    it to the machine's PostgreSQL), dropped afterwards."""
    import uuid

    url = os.environ.get("SIMAP_TEST_DATABASE_URL")
    if not url:
        yield str(tmp_path / "project.db")
        return
    import sqlalchemy as sa

    schema = "p_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in url else "?"
    yield f"{url}{sep}options=-csearch_path%3D{schema}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    admin.dispose()
