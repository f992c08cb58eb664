"""Evidence precision (issue 12, item 4): the best phrase inside an evidence sentence is marked
in the text and in the quotes of the venture page (headless chromium), and exports use its span."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tests.web.test_web_browser import browser, log_in, server  # noqa: F401

from simap.demo import VENTURES_PATH
from simap.pipeline import Project
from simap.store import repo
from simap.web.views import highlight, quote

SHOTS = Path("/tmp/web12")
TEXT = "Health workers collect survey data on mobile phones. The app works offline."
SENTENCE = {"field": "description", "start": 0, "end": 52, "text": TEXT[:52], "score": 0.92}
PHRASE = {"start": 15, "end": 34, "text": TEXT[15:34]}  # "collect survey data"


def test_highlight_marks_the_phrase_inside_the_sentence() -> None:
    html = str(highlight(TEXT, "description", [("DATA", SENTENCE | {"phrase": PHRASE})]))
    assert f'data-phrase="DATA" title="DATA">{PHRASE["text"]}</mark>' in html
    assert 'class="ev ph"' in html and html.count("<mark") == 3  # before, phrase, after
    assert str(quote(SENTENCE | {"phrase": PHRASE})) == (
        f'Health workers <b class="phrase">{PHRASE["text"]}</b>{TEXT[34:52]}'
    )
    assert str(quote(SENTENCE)) == TEXT[:52]  # no phrase: the sentence
    bad = SENTENCE | {"phrase": {"start": 40, "end": 90, "text": "x"}}  # outside the sentence
    assert str(quote(bad)) == TEXT[:52] and "data-phrase" not in str(
        highlight(TEXT, "description", [("D", bad)])
    )


def test_exports_use_the_phrase_span(project_path: Path, tmp_path: Path) -> None:
    with Project.open(project_path) as proj:
        proj.import_path(Path(str(VENTURES_PATH)))
        proj.code(embedder="fake")
        out = tmp_path / "codes.jsonl"
        proj.export_codes(out)
        proj.export_codes(tmp_path / "codes.csv", fmt="csv")
        frame = repo.load_documents(proj.store)
        docs = {(r.venture_id, r.field): r.text for r in frame.itertuples()}
    items = [
        (rec["id"], ev)
        for rec in map(json.loads, out.read_text().splitlines())
        for d in rec["details"].values()
        for ev in d["evidence"]
    ]
    with_phrase = [(vid, ev) for vid, ev in items if "sentence" in ev]
    assert with_phrase, "the zero-shot coder finds phrases"
    for vid, ev in with_phrase:
        doc = docs[(vid, ev["field"])]
        assert doc[ev["start"] : ev["end"]] == ev["text"] and ev["text"] in ev["sentence"]
        assert ev["sentence_start"] <= ev["start"] < ev["end"] <= ev["sentence_end"]
        assert len(ev["text"]) < len(ev["sentence"])
    csv = pd.read_csv(tmp_path / "codes.csv")
    cells = " | ".join(str(v) for c in csv.columns if c.endswith("_evidence") for v in csv[c].dropna())
    assert with_phrase[0][1]["text"] in cells


@pytest.fixture
def web_store(web_store: Any) -> Any:
    """The seeded project, with the best phrase inside v1's DATA evidence sentence."""
    version = repo.latest_coded_codebook(web_store).version
    run = repo.start_run(web_store, kind="code", codebook_version=version, model="machine-x", params={})
    ev = [SENTENCE | {"phrase": PHRASE}]
    frame = pd.DataFrame(
        [{"venture_id": "v1", "code_id": "DATA", "score": 0.92, "raw": 0.92, "evidence": ev}]
    )
    repo.save_machine_suggestions(web_store, frame, coder="machine-x", codebook_version=version, run_id=run)
    repo.finish_run(web_store, run, stats={})
    return web_store


@pytest.mark.browser
@pytest.mark.slow
def test_venture_page_shows_the_phrase(server: str, browser: Any) -> None:  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = log_in(browser, server, "ana")
    page.goto(f"{server}/ventures/v1#c-DATA")
    page.wait_for_selector(".code-card.focused")
    assert page.inner_text("#c-DATA .quotes b.phrase") == PHRASE["text"]
    assert page.inner_text("mark.ev.phrase-focus") == PHRASE["text"]
    assert page.locator("mark.ev.phrase-focus").count() == 1
    page.screenshot(path=str(SHOTS / "venture-phrase.png"))
