"""Reports: the self-contained HTML landscape report and the coded-ventures export."""

from simap.report.export import FORMATS, export_codes, export_records
from simap.report.html import render_html_report, write_html_report

__all__ = ["FORMATS", "export_codes", "export_records", "render_html_report", "write_html_report"]
