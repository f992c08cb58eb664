"""Fixtures of the workbench tests: a seeded project (SQLite, or PostgreSQL when
SIMAP_TEST_DATABASE_URL is set), the app, and logged-in clients for each role."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from simap.batches import IngestBatch
from simap.codebook import Codebook, from_dict

PASSWORD = "correct horse battery"

VENTURES = [
    (
        "v1",
        "Field Survey Co",
        "Kenya",
        "Health",
        "Health workers collect survey data on mobile phones. The app works offline.",
    ),
    (
        "v2",
        "Open Lessons",
        "India",
        "Education",
        "Openly licensed lessons anyone can reuse and adapt. Teachers share them.",
    ),
    (
        "v3",
        "Weather Now",
        "Kenya",
        "Agriculture",
        "The app shows the weather. Farmers plan their harvest with it.",
    ),
    (
        "v4",
        "Wiki Health",
        "Brazil",
        "Health",
        "A wiki written by volunteers. It collects data from clinics too.",
    ),
]
SCORES = {
    ("v1", "DATA"): 0.92,
    ("v1", "OPEN"): 0.2,
    ("v2", "OPEN"): 0.88,
    ("v2", "DATA"): 0.1,
    ("v3", "DATA"): 0.45,
    ("v3", "OPEN"): 0.3,
    ("v4", "OPEN"): 0.7,
    ("v4", "DATA"): 0.55,
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives chromium through Playwright (needs /usr/bin/chromium)"
    )


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 with small parameters, so tests stay fast (production uses the library defaults)."""
    from argon2 import PasswordHasher

    from simap.store import accounts

    monkeypatch.setattr(
        accounts, "_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


@pytest.fixture
def db_target(database: str) -> str:
    """A fresh database (see the ``database`` fixture in tests/conftest.py)."""
    return database


@pytest.fixture
def web_codebook() -> Codebook:
    from tests.conftest import TINY_CODEBOOK

    return from_dict(TINY_CODEBOOK)


def seed(store: Any, book: Codebook) -> None:
    """Four ventures, machine suggestions of one run, four users (admin, two analysts, a viewer)."""
    from simap.ingest.segment import segment_documents
    from simap.store import accounts, repo

    ventures = pd.DataFrame(
        [
            {"id": i, "name": n, "country": c, "sector": s, "year": 2015, "metadata": {}, "source": "test"}
            for i, n, c, s, _ in VENTURES
        ]
    )
    docs = pd.DataFrame([{"venture_id": i, "field": "description", "text": t} for i, _, _, _, t in VENTURES])
    repo.upsert_ventures(
        store, IngestBatch(ventures, docs), segment_documents(docs), actor="test", source="seed"
    )
    version = repo.save_codebook(store, book)
    run = repo.start_run(store, kind="code", codebook_version=version, model="machine-x", params={})
    texts = {i: t for i, _, _, _, t in VENTURES}
    rows = []
    for (vid, code), score in SCORES.items():
        first = texts[vid].split(". ")[0] + "."
        ev = [{"field": "description", "start": 0, "end": len(first), "text": first, "score": score}]
        rows.append({"venture_id": vid, "code_id": code, "score": score, "raw": score, "evidence": ev})
    repo.save_machine_suggestions(
        store, pd.DataFrame(rows), coder="machine-x", codebook_version=version, run_id=run
    )
    repo.finish_run(store, run, stats={})
    for name, role in (("ada", "admin"), ("ana", "analyst"), ("ben", "analyst"), ("vic", "viewer")):
        accounts.add_user(store, name, PASSWORD, role=role)


@pytest.fixture
def web_store(db_target: str, web_codebook: Codebook) -> Iterator[Any]:
    from simap.store import open_store

    store = open_store(db_target)
    seed(store, web_codebook)
    yield store
    store.dispose()


@pytest.fixture
def app(web_store: Any, tmp_path: Any) -> Any:
    from simap.web.app import create_app
    from simap.web.settings import Settings

    settings = Settings(project=web_store.url, secret_key="test-secret", upload_dir=tmp_path / "uploads")
    return create_app(settings, store=web_store)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


class Client:
    """A TestClient logged in as one user, with its CSRF token at hand."""

    def __init__(self, app: Any, username: str | None) -> None:
        from fastapi.testclient import TestClient

        self.http = TestClient(app, follow_redirects=False)
        self.username = username
        page = self.http.get("/login")
        self.csrf = csrf_of(page.text)
        if username:
            r = self.http.post(
                "/login", data={"username": username, "password": PASSWORD, "csrf_token": self.csrf}
            )
            assert r.status_code == 303, r.text
            self.csrf = csrf_of(self.http.get("/").text)

    def get(self, url: str, **kw: Any) -> Any:
        return self.http.get(url, **kw)

    def post(self, url: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
        return self.http.post(url, data={"csrf_token": self.csrf, **(data or {})}, **kw)


@pytest.fixture
def login(app: Any) -> Any:
    """``login(username)``: a Client logged in as that user (None: anonymous)."""
    clients: list[Client] = []

    def make(username: str | None) -> Client:
        c = Client(app, username)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.http.close()
