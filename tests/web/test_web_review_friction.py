"""Review friction on the venture page (issue 12, item 3), in headless chromium, on a venture
with 14 codes whose evidence is mostly one sentence: `n` skips without deciding, `u` undoes the
last decision, the title and the text stay in view, each distinct sentence is shown once, cards
do not move after a decision, and `e` on a rejected code attaches nothing to the rejection."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tests.web.conftest import PASSWORD, VENTURES
from tests.web.test_web_browser import browser, log_in, select_text, server  # noqa: F401

from simap import codebook as cb
from simap.batches import IngestBatch

SHOTS = Path("/tmp/web12")
LONG = " ".join(
    f"Paragraph {i} describes how the programme works with partners in the district." for i in range(60)
)
FIRST = "Health workers collect survey data on mobile phones."
SECOND = "The app works offline."


@pytest.fixture
def web_store(db_target: str) -> Iterator[Any]:
    from simap.ingest.segment import segment_documents
    from simap.store import accounts, open_store, repo

    store = open_store(db_target)
    book = cb.load("social-innovation")
    ventures = pd.DataFrame(
        [
            {"id": i, "name": n, "country": c, "sector": s, "year": 2015, "metadata": {}, "source": "t"}
            for i, n, c, s, _ in VENTURES
        ]
    )
    texts = {i: t for i, *_, t in VENTURES} | {"v1": f"{FIRST} {SECOND} {LONG}"}
    docs = pd.DataFrame([{"venture_id": i, "field": "description", "text": t} for i, t in texts.items()])
    repo.upsert_ventures(store, IngestBatch(ventures, docs), segment_documents(docs), actor="t", source="s")
    version = repo.save_codebook(store, book)
    run = repo.start_run(store, kind="code", codebook_version=version, model="machine-x", params={})
    rows = []
    for vid, text in texts.items():
        n = 10 if vid == "v1" else 3  # v1: four codes without a machine suggestion
        for i, code in enumerate(book.ids()[:n]):
            sentence = SECOND if i in (3, 6) else FIRST
            start = text.find(sentence)
            if start < 0:
                sentence, start = text.split(". ")[0], 0
            ev = [{"field": "description", "start": start, "end": start + len(sentence), "text": sentence}]
            score = round(0.9 - 0.06 * i, 2)
            rows.append({"venture_id": vid, "code_id": code, "score": score, "raw": score, "evidence": ev})
    repo.save_machine_suggestions(
        store, pd.DataFrame(rows), coder="machine-x", codebook_version=version, run_id=run
    )
    repo.finish_run(store, run, stats={})
    accounts.add_user(store, "ana", PASSWORD, role="analyst")
    yield store
    store.dispose()


def _mine(store: Any, vid: str, user: str = "ana") -> dict[str, dict[str, Any]]:
    from simap.store import browse

    return {
        r["code_id"]: r
        for r in browse.assignment_rows(store, [vid])
        if r["source"] == "human" and r["coder"] == user
    }


def _in_view(page: Any, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    height = page.viewport_size["height"]
    return (
        box is not None
        and box["y"] >= 0
        and box["y"] < height
        and box["y"] + min(box["height"], 40) <= height
    )


def _order(page: Any) -> list[str]:
    return [c.get_attribute("data-code") for c in page.locator(".code-card").all()]


@pytest.mark.browser
@pytest.mark.slow
def test_review_friction(server: str, browser: Any, web_store: Any) -> None:  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = log_in(browser, server, "ana")
    page.goto(f"{server}/ventures/v1")
    page.wait_for_selector(".code-card.focused")
    # each distinct evidence sentence once; the other cards point to it
    quotes = [li.inner_text() for li in page.locator(".quotes li").all()]
    assert sorted(quotes) == sorted({FIRST, SECOND}), quotes
    assert page.locator(".same-evidence").count() == 8
    page.screenshot(path=str(SHOTS / "venture-review.png"))

    # a decision on the last card (no machine suggestion): no reordering, title and text in view
    order = _order(page)
    last = order[-1]
    page.click(f"#c-{last} .code-title")
    page.keyboard.press("a")
    page.wait_for_selector(f"#c-{last} .badge.ok >> text=you accepted")
    assert _order(page) == order
    assert _in_view(page, ".venture-head h1") and _in_view(page, ".doc-text")
    assert page.get_attribute(".code-card.focused", "data-code") == last
    page.screenshot(path=str(SHOTS / "venture-after-decision.png"))
    assert _mine(web_store, "v1")[last]["status"] == "accepted"

    # undo the last decision
    page.keyboard.press("u")
    page.wait_for_load_state("load")
    page.wait_for_selector(".code-card.focused")
    assert last not in _mine(web_store, "v1")
    assert page.locator(f"#c-{last} .badge.ok").count() == 0

    # `e` on a rejected code attaches nothing to the rejection
    first = order[0]
    page.click(f"#c-{first} .code-title")
    page.keyboard.press("r")
    page.wait_for_selector(f"#c-{first} .badge.no >> text=you rejected")
    page.click(f"#c-{first} .code-title")
    select_text(page, "works offline")
    page.keyboard.press("e")
    page.wait_for_selector("#flash:not([hidden])")
    assert "accept it first" in page.inner_text("#flash")
    assert _mine(web_store, "v1")[first]["evidence"] == []
    assert page.locator(f"#c-{first} .span-btn").is_disabled()

    # `n` skips to another venture without deciding, and again to a third one
    before = {v: dict(_mine(web_store, v)) for v in ("v1", "v2", "v3", "v4")}
    page.keyboard.press("n")
    page.wait_for_url(lambda url: "/ventures/v1" not in url)
    second = page.url.split("/ventures/")[1].split("?")[0].split("#")[0]
    page.wait_for_selector(".code-card.focused")
    page.keyboard.press("n")
    page.wait_for_url(lambda url: f"/ventures/{second}" not in url)
    third = page.url.split("/ventures/")[1].split("?")[0].split("#")[0]
    assert len({"v1", second, third}) == 3
    assert {v: dict(_mine(web_store, v)) for v in ("v1", "v2", "v3", "v4")} == before
