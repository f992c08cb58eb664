"""Browser tests: Playwright driving Debian's chromium headless against uvicorn on loopback.

Playwright never downloads a browser here: it uses /usr/bin/chromium and the tests skip with a
message when that is missing. Screenshots of the main pages go to $SIMAP_SCREENSHOTS (the docs
use ``SIMAP_SCREENSHOTS=docs/screenshots``), else to a temporary folder.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import PASSWORD

CHROMIUM = Path(os.environ.get("SIMAP_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(app: Any) -> Iterator[str]:
    """The app served by uvicorn in a thread; yields its base URL."""
    import uvicorn

    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while not srv.started and time.time() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is absent: install Debian's chromium (apt-get install chromium) to run browser tests"
        )
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


def shots_dir(tmp_path: Path) -> Path:
    target = Path(os.environ.get("SIMAP_SCREENSHOTS", tmp_path / "shots"))
    target.mkdir(parents=True, exist_ok=True)
    return target


def log_in(browser: Any, base: str, username: str) -> Any:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(f"{base}/")
    return page


def select_text(page: Any, needle: str) -> None:
    """Select ``needle`` inside the first document text, as a user dragging the mouse would."""
    page.evaluate(
        """(needle) => {
            const box = document.querySelector('.doc-text');
            const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
            let node;
            while ((node = walker.nextNode())) {
                const i = node.textContent.indexOf(needle);
                if (i >= 0) {
                    const r = document.createRange();
                    r.setStart(node, i); r.setEnd(node, i + needle.length);
                    const s = window.getSelection(); s.removeAllRanges(); s.addRange(r);
                    document.dispatchEvent(new Event('selectionchange'));
                    return;
                }
            }
            throw new Error('text not found: ' + needle);
        }""",
        needle,
    )


def test_analyst_reviews_and_agreement_changes(server: str, browser: Any) -> None:
    page = log_in(browser, server, "ana")
    assert "Dashboard" in page.inner_text("h1")
    page.click("nav >> text=Ventures")
    page.click("text=Field Survey Co")
    page.wait_for_selector(".code-card.focused")
    assert page.get_attribute(".code-card.focused", "data-code") == "DATA"
    assert page.locator('mark.ev.focus[data-codes~="DATA"]').count() == 1
    # accept with the keyboard
    page.keyboard.press("a")
    page.wait_for_selector("#c-DATA .badge.ok >> text=you accepted")
    # add a code with evidence selected in the text
    select_text(page, "The app works offline")
    assert "The app works offline" in page.inner_text("#selection-preview")
    page.select_option("#add-code select[name=code_id]", "OPEN")
    page.fill("#add-code input[name=memo]", "offline first")
    page.click("#add-code button.primary")
    page.wait_for_selector("#c-OPEN .badge.ok >> text=you accepted")
    assert page.locator('mark.ev[data-codes~="OPEN"]').inner_text() == "The app works offline"
    assert "offline first" in page.inner_text("#c-OPEN")
    assert "code accepted" in page.inner_text(".history")
    # the agreement page changes after a decision
    page.goto(f"{server}/agreement?a=machine&b=ana")
    before = (page.inner_text("#pooled h2"), page.inner_text("#kappa"))
    assert "1 ventures both coded" in before[0]
    page.goto(f"{server}/ventures/v4")
    page.wait_for_selector(".code-card.focused")
    page.keyboard.press("r")  # reject the machine's top code on v4
    page.wait_for_selector(".code-card.mine-rejected")
    page.goto(f"{server}/agreement?a=machine&b=ana")
    after = (page.inner_text("#pooled h2"), page.inner_text("#kappa"))
    assert "2 ventures both coded" in after[0] and after[1] != before[1]
    page.close()


def test_viewer_is_refused(server: str, browser: Any) -> None:
    page = log_in(browser, server, "vic")
    page.goto(f"{server}/ventures/v1")
    assert page.locator("form.decide").count() == 0
    status = page.evaluate(
        """async () => {
            const body = new URLSearchParams({code_id: 'DATA', action: 'accept',
                                              csrf_token: document.body.dataset.csrf});
            const r = await fetch('/ventures/v1/decide', {method: 'POST', body});
            return r.status;
        }"""
    )
    assert status == 403
    response = page.goto(f"{server}/users")
    assert response.status == 403 and "Not allowed" in page.inner_text("h1")
    page.close()


def test_screenshots_of_the_main_pages(server: str, browser: Any, tmp_path: Path) -> None:
    out = shots_dir(tmp_path)
    ana = log_in(browser, server, "ana")
    ana.goto(f"{server}/ventures/v1")
    ana.keyboard.press("a")
    ana.wait_for_selector("#c-DATA .badge.ok")
    page = log_in(browser, server, "ben")
    page.goto(f"{server}/ventures/v1")
    page.keyboard.press("a")
    page.wait_for_selector("#c-DATA .badge.ok")
    for name, url in [
        ("dashboard", "/"),
        ("ventures", "/ventures"),
        ("venture", "/ventures/v4"),
        ("queue", "/queue"),
        ("agreement", "/agreement?a=machine&b=ben"),
        ("codebook", "/codebook"),
        ("import", "/import"),
    ]:
        page.goto(server + url)
        page.screenshot(path=str(out / f"{name}.png"), full_page=True)
    assert len(list(out.glob("*.png"))) >= 7
    page.close()
    ana.close()
