"""The PDF report: the print variant of the HTML report rendered by WeasyPrint (offline)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from simap.codebook.schema import Codebook
from simap.errors import BackendUnavailable
from simap.maps.analytics import LandscapeMap
from simap.report.html import MAX_ROWS, render_html_report
from simap.report.sections import ReportData


def html_to_pdf(html: str, path: str | Path) -> Path:
    """Render an HTML string to a PDF file with WeasyPrint (no network: the HTML is self-contained)."""
    try:
        from weasyprint import HTML
    except ImportError as exc:  # pragma: no cover - weasyprint is a dependency of the report extra
        raise BackendUnavailable(
            "PDF reports need WeasyPrint, which is not installed.", hint="pip install 'simap[report]'"
        ) from exc
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    HTML(string=html, base_url=None).write_pdf(target)
    return target


def write_pdf_report(
    landscape: LandscapeMap,
    codebook: Codebook,
    path: str | Path,
    *,
    title: str = "Social Innovation Map",
    meta: Mapping[str, Any] | None = None,
    data: ReportData | None = None,
) -> Path:
    """Write the report as a PDF (static maps, no venture matrix) and return the path."""
    html = render_html_report(
        landscape, codebook, title=title, meta=meta, max_rows=MAX_ROWS, data=data, static=True
    )
    return html_to_pdf(html, path)


__all__ = ["html_to_pdf", "write_pdf_report"]
