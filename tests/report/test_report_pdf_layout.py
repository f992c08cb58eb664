"""The PDF report as printed (issue 12 item 9): every page rendered to PNG; no text runs past the
page margins (tables fit, the region and sector tables keep every code column), no "hover" in
print, the methodology is readable text (no raw JSON), legends are not truncated.

Pages are rendered and their text boxes read with pypdfium2 (PDFium); WeasyPrint writes the PDF.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simap import codebook as cb
from simap.batches import ASSIGNMENT_COLUMNS, VENTURE_COLUMNS
from simap.maps.analytics import build_map
from simap.report.sections import build_report_data

pdfium = pytest.importorskip("pypdfium2", reason="pypdfium2 renders the PDF pages (pip install pypdfium2)")
pytest.importorskip("weasyprint", reason="WeasyPrint writes the PDF (pip install 'simap[pdf]')")

MM = 72 / 25.4
MARGIN_X = 14 * MM  # @page margin: 16mm 14mm 18mm
COUNTRIES = ["Kenya", "Nigeria", "France", "Germany", "India", "Viet Nam", "Brazil", "Peru"]
SECTORS = ["Health", "Education", "Agriculture and food security"]


def landscape_data(book: cb.Codebook, n: int = 40):
    rng = np.random.default_rng(3)
    ventures = pd.DataFrame(
        [
            {
                "id": f"v{i}",
                "name": f"Venture number {i} with a rather long name",
                "country": COUNTRIES[i % len(COUNTRIES)],
                "sector": SECTORS[i % len(SECTORS)],
                "year": 1995 + (i * 7) % 27,
                "metadata": {},
                "source": "t",
            }
            for i in range(n)
        ],
        columns=VENTURE_COLUMNS,
    )
    rows = []
    for i in range(n):
        for code in book.active_codes:
            if rng.random() < 0.45:
                text = f"Sentence {i} about {code.name.lower()}."
                rows.append(
                    {
                        "venture_id": f"v{i}",
                        "code_id": code.id,
                        "kind": code.kind,
                        "source": "machine",
                        "coder": "zeroshot:fake",
                        "score": float(rng.uniform(0.5, 1.0)),
                        "status": "suggested",
                        "evidence": [{"field": "description", "start": 0, "end": len(text), "text": text}],
                    }
                )
    landscape = build_map(ventures, pd.DataFrame(rows, columns=ASSIGNMENT_COLUMNS), book)
    meta = {
        "codebook": book.name,
        "codebook_version": book.version,
        "model": "zeroshot:fake:dim=64",
        "params": {"C": 0.3, "embedder_params": {"dim": 64}, "units": "clauses", "workers": 1},
        "run_id": 1,
        "coded_at": "2026-12-03T11:13:11",
        "min_score": 0.5,
        "include_suggestions": True,
        "text_similarity": "none (patterns only)",
    }
    return build_report_data(landscape, book, meta=meta)


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    from simap.report.pdf import write_pdf_report

    book = cb.load("social-innovation")
    data = landscape_data(book)
    folder = tmp_path_factory.mktemp("pdf")
    pdf_path = write_pdf_report(data.landscape, book, folder / "map.pdf", meta=data.meta, data=data)
    doc = pdfium.PdfDocument(str(pdf_path))
    out = []
    for i, page in enumerate(doc):
        width, height = page.get_size()
        png = folder / f"page-{i + 1:02d}.png"
        page.render(scale=1).to_pil().save(png)  # every page renders
        text = page.get_textpage()
        boxes = [text.get_rect(j) for j in range(text.count_rects())]
        words = [(box, text.get_text_bounded(*box)) for box in boxes]
        out.append(
            {"n": i + 1, "width": width, "height": height, "png": png, "words": words,
             "text": text.get_text_range()}
        )  # fmt: skip
    return out


def test_every_page_renders_to_png(pages) -> None:
    assert len(pages) >= 5
    for p in pages:
        assert p["png"].stat().st_size > 1000


def test_no_text_box_runs_past_the_margins(pages) -> None:
    tolerance = 2.0  # points
    over = [
        (p["n"], round(left), round(right), text.strip()[:40])
        for p in pages
        for (left, _bottom, right, _top), text in p["words"]
        if text.strip() and (left < MARGIN_X - tolerance or right > p["width"] - MARGIN_X + tolerance)
    ]
    assert over == [], f"text past the margins (page, left, right, text): {over[:10]}"


def test_region_and_sector_tables_keep_every_code_column(pages) -> None:
    text = " ".join(p["text"] for p in pages)
    start = text.index("Patterns by world region")
    part = text[start : text.index("Trends over time", start)]
    for code in ("DP1", "B4", "C1", "C5"):
        assert part.count(code) >= 2, code  # in the region table and in the sector table


def test_print_wording_and_readable_methodology(pages) -> None:
    text = " ".join(p["text"] for p in pages)
    assert "hover" not in text.lower()
    method = text[text.index("Methodology") :]
    assert "{" not in method and '"' not in method.split("Generated offline")[0]
    assert "Model parameters" in method and "embedder params: dim 64" in method


def test_trend_legend_names_are_whole(pages) -> None:
    book = cb.load("social-innovation")
    text = " ".join(" ".join(p["text"].split()) for p in pages)
    trends = text[text.index("Trends over time") :]
    shown = [c for c in book.active_codes if f"{c.id} {c.name}" in trends]
    assert shown, "the trend legend names its codes in full"
