from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from simap.discover.candidates import Discovery
from simap.discover.themes import Theme
from simap.maps.analytics import build_map
from simap.report.html import render_html_report
from simap.report.sections import build_report_data, strength
from simap.report.views import export_views, view_tables


@pytest.fixture
def data(sample, codebook):
    ventures, assignments = sample
    ventures["country"] = ["Kenya", "Narnia", "France", "Kenia"]
    landscape = build_map(ventures, assignments, codebook)
    theme = Theme(
        0,
        "solar, pumps",
        ["solar", "pumps"],
        6,
        3,
        0.8,
        [{"text": "Solar <pumps> for farms.", "venture_id": "v1", "venture_name": "V1"}],
        ["v1"],
    )
    discovery = Discovery(
        "test-book",
        codebook.version,
        10,
        6,
        0.3,
        {"seed": 0},
        [theme],
        [{"id": "EM1", "name": "Solar / Pumps"}],
    )
    return build_report_data(
        landscape,
        codebook,
        text_vectors=np.eye(4, dtype=np.float32),
        discovery=discovery,
        review={
            "human_decisions": 2,
            "present_codes": 4,
            "present_reviewed": 1,
            "share_reviewed": 0.25,
            "compared_cells": 2,
            "agreement": 0.5,
            "kappa": 0.0,
        },
    )


def test_full_report_sections(data) -> None:
    html = render_html_report(data.landscape, data.codebook, data=data)
    for anchor in (
        "summary",
        "prevalence",
        "cooccurrence",
        "geography",
        "networks",
        "emerging",
        "evidence",
        "method",
    ):
        assert f'id="{anchor}"' in html
    assert "Social Innovation Map" in html
    assert 'id="mapdata"' in html and 'data-iso="KEN"' in html
    assert "Narnia (1)" in html  # unknown country reported
    assert "EM1 · Solar / Pumps" in html and "Solar &lt;pumps&gt;" in html
    assert "25.0%" in html and "Human review" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_static_variant_for_pdf(data) -> None:
    html = render_html_report(data.landscape, data.codebook, data=data, static=True)
    assert "<script" not in html.replace('<script type="application/json"', "")
    assert 'id="matrix"' not in html and "Where each pattern appears" in html


def test_pdf_is_written(data, tmp_path: Path) -> None:
    from simap.report.pdf import write_pdf_report

    path = write_pdf_report(data.landscape, data.codebook, tmp_path / "map.pdf", data=data)
    assert path.read_bytes()[:5] == b"%PDF-" and path.stat().st_size > 10_000


def test_export_views(data, tmp_path: Path) -> None:
    files = export_views(data, tmp_path / "views")
    names = {p.name for p in files}
    assert {"views.xlsx", "views.json", "prevalence.csv", "cooccurrence.csv", "matrix.csv"} <= names
    assert {"ventures.graphml", "ventures.gexf", "ventures_patterns.graphml", "map_ventures.svg"} <= names
    payload = json.loads((tmp_path / "views" / "views.json").read_text())
    assert set(view_tables(data)) == set(payload)
    assert payload["emerging_themes"][0]["candidate_id"] == "EM1"
    svg = (tmp_path / "views" / "charts" / "map_ventures.svg").read_text()
    assert svg.startswith("<?xml") and 'xmlns="http://www.w3.org/2000/svg"' in svg


def test_png_charts_when_cairosvg_is_installed(data, tmp_path: Path) -> None:
    pytest.importorskip("cairosvg", reason="PNG export needs cairosvg")
    from simap.report.views import write_charts

    files = write_charts(data, tmp_path, ["png"])
    assert files and files[0].read_bytes()[:4] == b"\x89PNG"


def test_strength_words() -> None:
    assert strength(3.5, 0.01) == "very strong" and strength(1.5, 0.01) == "moderate"
    assert strength(5.0, 0.2) == "not significant" and strength(float("nan"), 1.0) == "no data"


def test_key_findings_name_the_code(data) -> None:
    from simap.report.sections import key_findings

    findings = [f for f in key_findings(data) if f.startswith("The most common")]
    assert findings
    for sentence in findings:
        code_id = sentence.split(" is ", 1)[1].split()[0]
        assert data.codebook.code(code_id).name in sentence
