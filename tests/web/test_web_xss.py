"""Every user-supplied string is escaped: pages, the HTML map report, the PDF report, advice pages.

Script and ``onerror`` payloads go into a venture's id, name, country, sector and text, a code's
name, definition and examples (a codebook edit), a memo, a user's display name, an API token's
name and a coding set's name; no page may contain them unescaped.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from tests.web.test_web_browser import browser, server  # noqa: F401  (fixtures)

from simap.batches import IngestBatch

SCRIPT = "<script>window.__xss=1</script>"
IMG = '"><img src=x onerror="window.__xss=2">'
PAYLOAD = f"Evil{SCRIPT}{IMG}"
RAW = ("<script>window.__xss", "<img src=x onerror")
EVIL_ID = "evil<svg onload=alert(1)>"
PAGES = [
    "/",
    "/ventures",
    "/ventures?q=Evil",
    f"/ventures?q={SCRIPT}",
    "/ventures/evil1",
    "/queue",
    "/codebook",
    "/agreement",
    "/agreement?a=machine&b=ana",
    "/agreement/disagreements?a=machine&b=ana",
    "/sets",
    "/users",
    "/tokens",
    "/import",
    "/export",
    "/map",
    "/export/report",
    f"/login?next={SCRIPT}",
    f"/nowhere{SCRIPT}",
]


def _hostile(store: Any) -> None:
    from tests.conftest import TINY_CODEBOOK

    from simap.codebook import from_dict
    from simap.ingest.segment import segment_documents
    from simap.review import actions, blind, codebook_edit
    from simap.store import accounts, repo

    text = f"Collects survey data. {PAYLOAD} is a wiki anyone can reuse."
    ventures = pd.DataFrame(
        [
            {
                "id": vid,
                "name": PAYLOAD,
                "country": "Kenya",
                "sector": f"Health{IMG}",
                "year": 2020,
                "metadata": {"note": PAYLOAD},
                "source": "test",
            }
            for vid in ("evil1", EVIL_ID)
        ]
    )
    docs = pd.DataFrame([{"venture_id": v, "field": "description", "text": text} for v in ventures["id"]])
    repo.upsert_ventures(
        store, IngestBatch(ventures, docs), segment_documents(docs), actor="test", source="x"
    )
    book = from_dict(TINY_CODEBOOK)
    edited = codebook_edit.save_edits(
        store,
        book,
        [
            {
                "op": "edit",
                "code_id": "DATA",
                "name": f"Data {SCRIPT}",
                "definition": PAYLOAD,
                "examples": [IMG],
            }
        ],
        actor="ana",
    )
    for vid in ("evil1", EVIL_ID):
        actions.decide(
            store, edited, venture_id=vid, code_id="DATA", user="ana", status="accepted", memo=PAYLOAD
        )
        actions.decide(store, edited, venture_id=vid, code_id="OPEN", user="ben", status="rejected", memo=IMG)
    accounts.add_user(store, "eve", "correct horse battery", role="analyst", display_name=PAYLOAD)
    accounts.create_token(store, "ada", PAYLOAD, actor="ada")
    blind.create_set(store, f"set {SCRIPT}", ["evil1", "v1"], ["ana", "ben"], actor="ada")


@pytest.fixture
def hostile(web_store: Any) -> Any:
    _hostile(web_store)
    return web_store


def _assert_escaped(body: str, where: str) -> None:
    for raw in RAW:
        assert raw not in body, f"{where}: unescaped {raw!r}"


def test_pages_escape_every_user_string(hostile, login) -> None:
    escaped_somewhere = 0
    for user in ("ada", "eve"):  # eve's own display name shows in the header
        c = login(user)
        for url in PAGES:
            r = c.get(url)
            assert r.status_code < 500, (url, r.status_code)
            _assert_escaped(r.text, url)
            escaped_somewhere += "&lt;script&gt;window.__xss" in r.text
    assert escaped_somewhere >= 10  # the payloads are shown, as text


def test_venture_page_with_a_hostile_id(hostile, login) -> None:
    from urllib.parse import quote

    r = login("ana").get("/ventures/" + quote(EVIL_ID, safe=""))
    assert r.status_code == 200
    assert "<svg onload" not in r.text and "&lt;svg onload" in r.text


def test_json_api_is_json_and_nosniff(hostile, login) -> None:
    c = login("ada")
    for url in ("/api/ventures?q=Evil", "/api/ventures/evil1", "/api/events", "/api/codebook", "/api/users"):
        r = c.get(url)
        assert r.status_code == 200, url
        assert r.headers["content-type"].startswith("application/json"), url
        assert r.headers["x-content-type-options"] == "nosniff"


def test_advice_pages_escape_the_description(hostile, login) -> None:
    c = login("ana")
    r = c.post("/diagnose", {"text": f"We collect survey data on phones. {PAYLOAD}", "name": PAYLOAD})
    assert r.status_code == 200
    _assert_escaped(r.text, "/diagnose")
    r = c.post("/portfolio", {"ids": "evil1\nv1"})
    assert r.status_code == 200
    _assert_escaped(r.text, "/portfolio")


def test_html_and_pdf_reports_escape(hostile, tmp_path) -> None:
    from simap.pipeline import Project
    from simap.report.pdf import write_pdf_report
    from simap.report.sections import collect_report_data

    project = Project(hostile)
    html = project.write_report(tmp_path / "map.html").read_text(encoding="utf-8")
    _assert_escaped(html, "html report")
    assert "&lt;script&gt;window.__xss" in html or "\\u003cscript" in html
    pytest.importorskip("weasyprint", reason="PDF reports need WeasyPrint")
    from pypdf import PdfReader

    data = collect_report_data(project)
    pdf = write_pdf_report(data.landscape, data.codebook, tmp_path / "map.pdf", data=data)
    text = "".join(page.extract_text() or "" for page in PdfReader(pdf).pages)
    assert "<script>window.__xss" in text.replace("\n", "")  # printed as text, not parsed as HTML


@pytest.mark.browser
@pytest.mark.slow
def test_no_payload_runs_in_a_real_browser(hostile, server, browser) -> None:  # noqa: F811
    from tests.web.test_web_browser import log_in

    page = log_in(browser, server, "ada")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    for url in (
        "/",
        "/ventures?q=Evil",
        "/ventures/evil1",
        "/codebook",
        "/sets",
        "/users",
        "/tokens",
        "/map",
    ):
        page.goto(server + url)
        page.wait_for_load_state("load")
        assert page.evaluate("typeof window.__xss") == "undefined", url
    assert dialogs == []
