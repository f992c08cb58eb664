"""Briefs: every evidence link has its anchor; user text is escaped; PDF through WeasyPrint."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from simap.advise import diagnose, render, write_brief
from simap.advise.landscape import AdviceIndex
from simap.advise.portfolio import portfolio_report
from simap.errors import InvalidInput

ANSWERS = {"b2_data_chain": "yes", "c1_hiring": 5, "countries": ["Kenya"], "sectors": ["Health"]}


def _links_resolve(html: str) -> None:
    anchors = set(re.findall(r'id="([^"]+)"', html))
    links = set(re.findall(r'href="#([^"]+)"', html))
    assert links and links <= anchors, links - anchors


def test_diagnosis_html_and_markdown(advice_project) -> None:
    d = diagnose(advice_project, answers={**ANSWERS, "name": "<script>x</script>"}, min_score=0.99)
    html = render(d, "html")
    _links_resolve(html)
    assert "<script>x" not in html and "&lt;script&gt;" in html
    for ev in d.evidence_items():
        assert f'id="{ev.id}"' in html
    md = render(d, "md")
    assert md.startswith("# Diagnosis: &lt;script&gt;x&lt;/script&gt;")
    md_links = set(re.findall(r"\]\(#([^)]+)\)", md))
    md_anchors = set(re.findall(r'<a id="([^"]+)"></a>', md))
    assert md_links and md_links <= md_anchors
    assert "\n\n\n" not in md


def test_portfolio_html(index: AdviceIndex) -> None:
    html = render(portfolio_report(index, ["v1", "v6"]), "html")
    _links_resolve(html)
    assert "Opportunity report" in html and "C5" in html


def test_write_brief_formats(tmp_path: Path, index: AdviceIndex) -> None:
    report = portfolio_report(index, ["v1"])
    assert write_brief(report, tmp_path / "r.md").read_text().startswith("# Opportunity report")
    with pytest.raises(InvalidInput, match=r"\.html, \.md or \.pdf"):
        write_brief(report, tmp_path / "r.docx")
    pytest.importorskip("weasyprint")
    pdf = write_brief(report, tmp_path / "r.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
