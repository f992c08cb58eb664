"""Codebook versions in the workbench (issue 12, item 1), in headless chromium: after a version is
saved on the Codebook page the dashboard warns that the suggestions are older, the Re-code button
codes the project with it in the background, and the re-code diff names the ventures that lose
the retired code. The API lists versions and serves the same diff."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.web.test_web_browser import ARGS, CHROMIUM, browser, log_in, server  # noqa: F401

from simap.review import codebook_edit

SHOTS = Path("/tmp/web12")


@pytest.fixture
def app(web_store: Any, tmp_path: Any) -> Any:
    """The workbench with the fake embedder for its Re-code button (fast, offline)."""
    from simap.web.app import create_app
    from simap.web.settings import Settings

    settings = Settings(
        project=web_store.url, secret_key="test-secret", upload_dir=tmp_path / "uploads", embedder="fake"
    )
    return create_app(settings, store=web_store)


def _retire_open(web_store: Any) -> Any:
    old = codebook_edit.working_codebook(web_store)
    return codebook_edit.save_edits(web_store, old, [{"op": "retire", "code_id": "OPEN"}], actor="ana")


@pytest.mark.browser
@pytest.mark.slow
def test_stale_warning_recode_button_and_diff(server: str, browser: Any, web_store: Any) -> None:  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = log_in(browser, server, "ana")
    assert page.locator("#stale-codebook").count() == 0
    new = _retire_open(web_store)
    page.goto(f"{server}/")
    warning = page.locator("#stale-codebook")
    assert new.version in warning.inner_text()
    page.screenshot(path=str(SHOTS / "dashboard-stale.png"), full_page=True)
    warning.locator("button").click()
    page.wait_for_url("**/jobs/*")
    page.wait_for_selector("#job[data-state=done]", timeout=60_000)
    page.screenshot(path=str(SHOTS / "recode-job.png"), full_page=True)
    page.click("text=What changed: re-code diff")
    page.wait_for_selector("#diff")
    rows = {
        r.get_attribute("data-venture"): r.inner_text()
        for r in page.locator("#diff-ventures tr[data-venture]").all()
    }
    assert {"v2", "v4"} <= set(rows)  # OPEN was in the map for v2 and v4
    assert all("OPEN" in rows[v].split("\t")[-1] for v in ("v2", "v4"))
    page.screenshot(path=str(SHOTS / "codebook-diff.png"), full_page=True)
    page.goto(f"{server}/")
    assert page.locator("#stale-codebook").count() == 0
    page.goto(f"{server}/codebook")
    versions = page.locator("#versions").inner_text()
    assert f"{new.name}@{new.version}" in versions and "working" in versions
    page.screenshot(path=str(SHOTS / "codebook-versions.png"), full_page=True)


def test_api_versions_recode_and_diff(app: Any, login: Any, web_store: Any) -> None:
    ana = login("ana")
    old = codebook_edit.working_codebook(web_store)
    new = _retire_open(web_store)
    listed = ana.get("/api/codebook/versions").json()
    assert {v["version"] for v in listed} == {old.version, new.version}
    assert [v["working"] for v in listed if v["version"] == new.version] == [True]
    job = ana.post("/api/codebook/recode", headers={"X-CSRF-Token": ana.csrf}).json()
    done = app.state.jobs.wait(job["id"], timeout=60)
    assert done.state == "done", done.error
    assert ana.get(f"/api/jobs/{job['id']}").json()["result"]["codebook_version"] == new.version
    d = ana.get("/api/codebook/diff", params={"a": old.version, "b": new.version}).json()
    lost = {r["venture_id"] for r in d["ventures"] if "OPEN" in r["disappeared"]}
    assert lost == {"v2", "v4"} and d["codes_removed"] == ["OPEN"]
    assert login("vic").post("/api/codebook/recode").status_code in (401, 403)
