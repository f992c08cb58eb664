from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simap.batches import ASSIGNMENT_COLUMNS, VENTURE_COLUMNS
from simap.codebook.schema import Codebook
from simap.errors import InvalidInput
from simap.maps.analytics import build_map
from simap.report.html import render_html_report, write_html_report

META = {"model": "tfidf", "params": {"ngram": [1, 2]}, "date": "2024-05-01"}


def _no_external_resources(html: str) -> None:
    lowered = html.lower()
    for needle in ('src="http', "src='http", 'href="http', "href='http", "<link", "@import", "url(", "//cdn"):
        assert needle not in lowered, needle
    assert "http://" not in lowered and "https://" not in lowered


def test_report_written_self_contained(sample, codebook, tmp_path: Path) -> None:
    ventures, assignments = sample
    landscape = build_map(ventures, assignments, codebook, min_score=0.5, include_suggestions=True)
    out = write_html_report(landscape, codebook, tmp_path / "sub" / "map.html", meta=META)
    assert out.exists() and out.suffix == ".html"
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    for cid in codebook.ids():
        assert cid in html
    _no_external_resources(html)
    # header numbers and methodology
    assert "test-book" in html and codebook.version in html
    assert "tfidf" in html and "2024-05-01" in html and "ngram" in html
    assert "Methodology" in html and "0.5" in html
    # charts have aria labels and captions
    # three prevalence charts (one per kind), heatmap, world map, venture and pattern networks
    n_svg = html.count("<svg")
    assert n_svg >= 5 and html.count('aria-label="Bar chart') == 3
    assert len(re.findall(r'<svg[^>]*role="img"[^>]*aria-label="[^"]+"', html)) == n_svg
    assert html.count("<figcaption>") == n_svg
    # accepted vs suggested cells, with tooltips
    assert 'class="a"' in html and 'class="s"' in html
    assert "score 0.91" in html


def test_report_escapes_user_text(sample, codebook, tmp_path: Path) -> None:
    ventures, assignments = sample
    landscape = build_map(ventures, assignments, codebook)
    html = write_html_report(
        landscape, codebook, tmp_path / "r.html", title="Map <i>x</i>", meta=META
    ).read_text()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(" in html
    assert "<b>apps</b>" not in html and "&lt;b&gt;apps&lt;/b&gt;" in html
    assert "Map <i>x</i>" not in html
    assert html.count("<script>") == 1  # the map switcher, network highlight and filter snippet


def test_report_sections_quotes_and_cooccurrence(sample, codebook) -> None:
    ventures, assignments = sample
    landscape = build_map(ventures, assignments, codebook)
    html = render_html_report(landscape, codebook, meta={})
    for section in ('id="map"', 'id="prevalence"', 'id="cooccurrence"', 'id="evidence"', 'id="method"'):
        assert section in html
    assert "Learners produce content." in html  # evidence quote
    assert "Field data collection." not in html  # human rejected: no quote
    assert "not recorded" in html  # model missing from meta
    assert "Showing the first" not in html


def test_report_caps_matrix_rows(mk, codebook) -> None:
    ventures = mk.ventures([f"v{i}" for i in range(7)])
    assignments = mk.assignments([mk.row(f"v{i}", "DP1") for i in range(7)])
    landscape = build_map(ventures, assignments, codebook)
    html = render_html_report(landscape, codebook, meta=META, max_rows=3)
    assert "Showing the first 3 of 7 ventures" in html
    assert html.count('<th class="v"') == 3
    assert "n = 7" in html


def test_report_rejects_other_codebook(sample, codebook) -> None:
    ventures, assignments = sample
    landscape = build_map(ventures, assignments, codebook)
    other = Codebook.model_validate(
        {"name": "x", "codes": [{"id": "T1", "kind": "topic", "name": "t", "definition": "d"}]}
    )
    with pytest.raises(InvalidInput, match="codebook"):
        render_html_report(landscape, other)


def test_report_without_cooccurrence_kinds(mk, tmp_path: Path) -> None:
    book = Codebook.model_validate(
        {"name": "x", "codes": [{"id": "T1", "kind": "topic", "name": "t", "definition": "d"}]}
    )
    landscape = build_map(mk.ventures(["v1"]), mk.assignments([mk.row("v1", "T1")]), book)
    html = render_html_report(landscape, book)
    assert "No co-occurrence table" in html and html.count('aria-label="Bar chart') == 1
    assert "Heatmap" not in html


def _big_codebook() -> Codebook:
    codes = [(f"DP{i}", "design_principle") for i in range(1, 6)]
    codes += [(f"B{i}", "barrier") for i in range(1, 5)]
    codes += [(f"C{i}", "challenge") for i in range(1, 6)]
    return Codebook.model_validate(
        {
            "name": "big",
            "codes": [{"id": c, "kind": k, "name": f"n {c}", "definition": "d"} for c, k in codes],
        }
    )


@pytest.mark.slow
def test_report_renders_10000_ventures(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    book = _big_codebook()
    n = 10_000
    ids = [f"v{i:05d}" for i in range(n)]
    ventures = pd.DataFrame(
        {
            "id": ids,
            "name": [f"Venture {i}" for i in range(n)],
            "country": "KE",
            "sector": "health",
            "year": 2020,
            "metadata": [{}] * n,
            "source": "x",
        },
        columns=VENTURE_COLUMNS,
    )
    code_ids = book.ids()
    hits = np.argwhere(rng.random((n, len(code_ids))) < 0.3)
    scores = rng.random(len(hits))
    assignments = pd.DataFrame(
        {
            "venture_id": [ids[i] for i in hits[:, 0]],
            "code_id": [code_ids[j] for j in hits[:, 1]],
            "kind": "x",
            "source": "machine",
            "coder": "tfidf",
            "score": scores,
            "status": np.where(scores > 0.9, "accepted", "suggested"),
            "evidence": [
                [{"field": "d", "start": 0, "end": 4, "text": f"s {k}", "score": 0.5}]
                for k in range(len(hits))
            ],
        },
        columns=ASSIGNMENT_COLUMNS,
    )
    # timings are measured in bench/report_speed.py, never asserted here
    landscape = build_map(ventures, assignments, book, min_score=0.5, include_suggestions=True)
    out = write_html_report(landscape, book, tmp_path / "big.html", meta=META)
    html = out.read_text()
    assert "Showing the first 500 of 10000 ventures" in html
    assert html.count('<th class="v"') == 500
