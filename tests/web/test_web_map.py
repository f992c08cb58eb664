"""The Map page (issue 12, item 5), in headless chromium: it answers at once with the build's
progress and navigation, opens the map when built, keeps it per (codebook version, decisions
version), has min-score / accepted-only controls, and names the model in its header."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from tests.web.test_web_browser import browser, log_in, server  # noqa: F401

SHOTS = Path("/tmp/web12")


def _wait_built(client: Any, query: str = "") -> dict[str, Any]:
    deadline = time.time() + 120
    while time.time() < deadline:
        status = client.get(f"/map/status{query}").json()
        if status["state"] != "building":
            return status
        time.sleep(0.05)
    raise AssertionError("the map was not built in time")


def test_cached_per_state_and_rebuilt_after_a_decision(login: Any, app: Any) -> None:
    ana = login("ana")
    t0 = time.perf_counter()
    first = ana.get("/map")
    assert time.perf_counter() - t0 < 2.0 and "Building the map" in first.text
    assert 'href="/"' in first.text  # the workbench navigation is there while it builds
    assert _wait_built(ana)["state"] == "ready"
    t0 = time.perf_counter()
    page = ana.get("/map")
    cached = time.perf_counter() - t0
    assert "Executive summary" in page.text and 'id="workbench-bar"' in page.text
    assert "machine-x" in page.text  # the model of the coding run, in the bar
    assert "not recorded" not in page.text  # and in the report's own header
    assert cached < 1.0, cached
    builds = len(app.state.maps.builds)
    assert "Executive summary" in ana.get("/map").text and len(app.state.maps.builds) == builds
    ana.post("/ventures/v3/decide", data={"code_id": "DATA", "action": "accept"})
    assert "Building the map" in ana.get("/map").text  # a decision: a new map
    assert _wait_built(ana)["state"] == "ready"
    assert "Building the map" in ana.get("/map?min_score=0.8&accepted_only=true").text  # another view
    _wait_built(ana, "?min_score=0.8&accepted_only=true")
    view = ana.get("/map?min_score=0.8&accepted_only=true").text
    assert 'value="0.8"' in view and 'name="accepted_only" value="true" checked' in view


@pytest.mark.browser
@pytest.mark.slow
def test_map_page_progress_then_report_with_controls(server: str, browser: Any) -> None:  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = log_in(browser, server, "vic")
    t0 = time.perf_counter()
    page.goto(f"{server}/map")
    page.wait_for_selector("#map-building")
    shell = time.perf_counter() - t0
    assert page.locator("header.top nav >> text=Dashboard").count() == 1
    page.screenshot(path=str(SHOTS / "map-building.png"))
    page.wait_for_selector("#workbench-bar", timeout=120_000)
    assert "machine-x" in page.inner_text("#map-provenance")
    assert "model machine-x" in " ".join(page.inner_text("header").split())
    page.screenshot(path=str(SHOTS / "map-ready.png"))
    page.fill("#workbench-bar input[name=min_score]", "0.9")
    page.check("#workbench-bar input[name=accepted_only]")
    page.click("#workbench-bar button")
    page.wait_for_selector("#workbench-bar", timeout=120_000)
    assert "min_score=0.9" in page.url and "accepted_only=true" in page.url
    page.click("#workbench-bar >> text=← simap workbench")
    page.wait_for_url(f"{server}/")
    assert shell < 3.0, shell
