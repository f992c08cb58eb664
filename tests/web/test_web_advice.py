"""Advice in the workbench: diagnose and portfolio pages and API, on the demo corpus."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from simap.demo import VENTURES_PATH


@pytest.fixture
def app(tmp_path: Path) -> Any:
    from tests.web.conftest import PASSWORD

    from simap.pipeline import Project
    from simap.store import accounts
    from simap.web.app import create_app
    from simap.web.settings import Settings

    proj = Project.open(tmp_path / "advice.db")
    proj.import_path(Path(str(VENTURES_PATH)))
    proj.code(embedder="fake")
    for name, role in (("ada", "admin"), ("vic", "viewer")):
        accounts.add_user(proj.store, name, PASSWORD, role=role)
    settings = Settings(project=proj.store.url, secret_key="test-secret", upload_dir=tmp_path / "uploads")
    return create_app(settings, store=proj.store)


def test_diagnose_page_and_api(login: Any) -> None:
    vic = login("vic")
    page = vic.get("/diagnose")
    assert page.status_code == 200 and "Diagnose a venture" in page.text and "q_" in page.text
    text = (
        "Citizens report broken water points by SMS and the reports are mapped for district officials. "
        "Our founders say it is hard to keep developers because we cannot match private salaries."
    )
    brief = vic.post("/diagnose", data={"text": text, "country": "Kenya"})
    assert brief.status_code == 200 and "<html" in brief.text.lower()
    empty = vic.post("/diagnose", data={"text": ""})
    assert empty.status_code == 400
    api = vic.http.post(
        "/api/diagnose", json={"text": text, "countries": ["Kenya"]}, headers={"X-CSRF-Token": vic.csrf}
    )
    assert api.status_code == 200, api.text
    body = api.json()
    found = body["barriers"] + body["principles"] + body["challenges"]
    assert found and all(c["evidence"] for c in found)
    assert "map" in body and isinstance(body["peers"], list)
    q = vic.get("/api/questionnaire").json()
    assert q["sections"] and any(s["questions"] for s in q["sections"])
    bad = vic.http.post("/api/diagnose", json={}, headers={"X-CSRF-Token": vic.csrf})
    assert bad.status_code == 400 and bad.json()["ok"] is False


def test_portfolio_page_and_api(login: Any) -> None:
    ada = login("ada")
    assert ada.get("/portfolio").status_code == 200
    report = ada.post("/portfolio", data={"ids": "ushahidi\nkobotoolbox, openstreetmap"})
    assert report.status_code == 200 and "ushahidi" in report.text.lower()
    api = ada.http.post(
        "/api/portfolio", json={"ids": ["ushahidi", "wikipedia"]}, headers={"X-CSRF-Token": ada.csrf}
    )
    assert api.status_code == 200, api.text
    assert login(None).http.post("/api/portfolio", json={"ids": ["ushahidi"]}).status_code == 401


def _built_map(client: Any, query: str = "") -> Any:
    """The map page once built (the first visit answers at once with its progress)."""
    import time

    deadline = time.time() + 120
    while client.get(f"/map/status{query}").json()["state"] == "building" and time.time() < deadline:
        time.sleep(0.1)
    return client.get(f"/map{query}")


def test_map_page_shows_the_report_views(login: Any) -> None:
    vic = login("vic")
    page = _built_map(vic)
    assert page.status_code == 200
    for section in ("Social Innovation Map", "Executive summary", "Co-occurrence", "Geography", "Network"):
        assert section in page.text, section
    assert _built_map(vic, "?accepted_only=true").status_code == 200
    assert login(None).get("/map").status_code in (303, 401)
