"""Web import (issue 12, item 6), in headless chromium: the column mapping in the form, no server
temporary path in any message, the skipped rows listed on request, a finished job status, and
the offer to code the new ventures right away."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.web.test_web_browser import browser, log_in, server  # noqa: F401

SHOTS = Path("/tmp/web12")
CSV = (
    "ein,organization,mission,nation\n"
    "e1,Clinic Data,Health workers collect survey data on mobile phones.,Kenya\n"
    ",No Id Row,,\n"
    "e3,Open Library,Openly licensed lessons anyone can reuse.,India\n"
)


@pytest.fixture
def app(web_store: Any, tmp_path: Any) -> Any:
    from simap.web.app import create_app
    from simap.web.settings import Settings

    settings = Settings(
        project=web_store.url, secret_key="test-secret", upload_dir=tmp_path / "uploads", embedder="fake"
    )
    return create_app(settings, store=web_store)


def _upload(page: Any, base: str, path: Path, mapping: str = "", skip: bool = False) -> None:
    page.goto(f"{base}/import")
    page.set_input_files("input[name=file]", str(path))
    if mapping:
        page.fill("textarea[name=map]", mapping)
    if skip:
        page.check("input[name=skip_invalid]")
    page.click("form[action='/import'] button.primary")
    page.wait_for_url("**/import/*")
    page.wait_for_selector("#job[data-state=done], #job[data-state=failed]", timeout=60_000)


@pytest.mark.browser
@pytest.mark.slow
def test_import_with_mapping_skipped_rows_and_code_now(
    server: str,  # noqa: F811
    browser: Any,  # noqa: F811
    tmp_path: Path,
    app: Any,
    web_store: Any,
) -> None:
    from simap.store import browse

    SHOTS.mkdir(parents=True, exist_ok=True)
    upload_root = str(app.state.jobs.upload_dir)
    data = tmp_path / "orgs.csv"
    data.write_text(CSV, encoding="utf-8")
    page = log_in(browser, server, "ana")
    # a bad row stops the import; the error names the file, not the server's temporary path
    _upload(page, server, data, "id=ein\nname=organization\ntext=mission")
    failed = page.inner_text("#job")
    assert "failed" in failed and "orgs.csv" in failed
    assert upload_root not in page.content() and "/tmp/" not in failed
    # with the mapping (as --map) and skip invalid rows: done, the skipped row listed on request
    _upload(page, server, data, "id=ein\nname=organization\ntext=mission\ncountry=nation", skip=True)
    assert page.get_attribute("#job", "data-state") == "done"
    assert "2 new" in page.inner_text("#job .job-result")
    assert page.locator("#skipped-rows li").first.is_hidden()
    page.click("#skipped-rows summary")
    assert (
        page.locator("#skipped-rows li").count() == 1 and page.locator("#skipped-rows li").first.is_visible()
    )
    assert upload_root not in page.content()
    assert browse.venture_names(web_store, ["e1"]) == {"e1": "Clinic Data"}
    page.screenshot(path=str(SHOTS / "import-done.png"), full_page=True)
    # code the new ventures right away
    page.click("#code-now button")
    page.wait_for_url("**/jobs/*")
    page.wait_for_selector("#job[data-state=done]", timeout=60_000)
    rows = browse.assignment_rows(web_store, ["e1"])
    assert any(r["source"] == "machine" for r in rows)
    page.screenshot(path=str(SHOTS / "import-coded.png"), full_page=True)
    # re-import without the mapping would overwrite names: refused, with the earlier mapping named
    _upload(page, server, data, "id=ein\ntext=mission", skip=True)
    refused = page.inner_text("#job")
    assert "failed" in refused and "name=organization" in refused and upload_root not in page.content()
