"""Each reader on tiny fixtures written here, and format detection."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from openpyxl import Workbook

from simap.errors import InvalidInput, NotFound, UnknownBackend
from simap.ingest import detect_format, dpg_record, read, readers


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text(
        "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8"
    )
    return path


def minimal_pdf(lines: list[str]) -> bytes:
    """A one-page PDF with a Helvetica text stream, xref offsets computed by hand."""
    ops = ["BT", "/F1 18 Tf", "72 720 Td"]
    for i, line in enumerate(lines):
        if i:
            ops.append("0 -28 Td")
        ops.append(f"({line}) Tj")
    ops.append("ET")
    content = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


# ---------------------------------------------------------------------------------------- JSONL


def test_jsonl_reader(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "v.jsonl",
        [
            {
                "id": "a1",
                "name": "Acme",
                "description": "  Clean water.\r\nFor all. ",
                "year": 2015,
                "tag": "x",
            },
            "",
            {"id": 42, "name": "Beta", "text": "Solar lamps.", "countries": ["Kenya", "Uganda"]},
        ],
    )
    batch = read(path)
    v = batch.ventures.set_index("id")
    assert list(batch.ventures.columns) == ["id", "name", "country", "sector", "year", "metadata", "source"]
    assert list(v.index) == ["a1", "42"]
    assert v.loc["a1", "source"] == "v.jsonl:1"
    assert v.loc["42", "source"] == "v.jsonl:3"
    assert v.loc["a1", "year"] == 2015 and v.loc["42", "year"] is None
    assert v.loc["42", "country"] == "Kenya"
    assert v.loc["42", "metadata"] == {"countries": ["Kenya", "Uganda"]}  # only fields the row has
    assert v.loc["a1", "metadata"] == {"tag": "x"}
    docs = batch.documents
    assert list(docs.columns) == ["venture_id", "field", "text"]
    assert docs.values.tolist() == [
        ["a1", "description", "Clean water.\nFor all."],
        ["42", "text", "Solar lamps."],
    ]
    assert batch.skipped == []


def test_jsonl_reader_accepts_a_json_array_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "v.json"
    path.write_text(
        '[\n  {"id": "a", "text": "One."},\n  {"id": "b",\n   "text": "Two."}\n]\n', encoding="utf-8"
    )
    batch = read(path)
    assert batch.ventures["source"].tolist() == ["v.json:2", "v.json:3"]


def test_jsonl_reader_accepts_one_pretty_printed_object(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"id": "a", "text": "One."}, indent=2), encoding="utf-8")
    assert read(path).ventures["id"].tolist() == ["a"]


def test_jsonl_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"id": "a", "text": "ok"}\n{"id": "b", "text": "caf\xe9"}\n')
    with pytest.raises(InvalidInput) as exc:
        read(path)
    assert "bad.jsonl" in str(exc.value) and "line 2" in str(exc.value) and "UTF-8" in str(exc.value)


# ------------------------------------------------------------------------------------------ CSV


def test_csv_reader_rows_are_numbered_with_the_header_as_row_1(tmp_path: Path) -> None:
    path = tmp_path / "v.csv"
    path.write_text(
        "\ufeffid,name,mission,program,country,year\n"
        'e1,Alpha,"Feeds kids,\nevery day.",Meals.,Kenya,2001\n'
        "\n"
        "e2,Beta,,Tutoring.,,\n",
        encoding="utf-8",
    )
    batch = read(path)
    v = batch.ventures
    assert v["id"].tolist() == ["e1", "e2"]
    assert v["source"].tolist() == ["v.csv:2", "v.csv:4"]
    assert v["year"].tolist() == [2001, None]
    assert v["country"].tolist() == ["Kenya", None]
    assert batch.documents.values.tolist() == [
        ["e1", "mission", "Feeds kids,\nevery day."],
        ["e1", "program", "Meals."],
        ["e2", "program", "Tutoring."],
    ]


def test_csv_semicolon_and_tsv_delimiters(tmp_path: Path) -> None:
    (tmp_path / "s.csv").write_text("id;text\na;Hello, world.\n", encoding="utf-8")
    (tmp_path / "t.tsv").write_text("id\ttext\na\tHello; world.\n", encoding="utf-8")
    assert read(tmp_path / "s.csv").documents["text"].tolist() == ["Hello, world."]
    assert read(tmp_path / "t.tsv").documents["text"].tolist() == ["Hello; world."]


def test_csv_too_many_cells_and_duplicate_header(tmp_path: Path) -> None:
    path = tmp_path / "v.csv"
    path.write_text("id,text\na,One.\nb,Two.,extra\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as exc:
        read(path)
    assert "line 3" in str(exc.value) and "at most 2 cells" in str(exc.value)
    dup = tmp_path / "d.csv"
    dup.write_text("id,text,id\na,One.,b\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as exc:
        read(dup)
    assert "d.csv" in str(exc.value) and "line 1" in str(exc.value) and "unique" in str(exc.value)


# ----------------------------------------------------------------------------------------- XLSX


def test_xlsx_reader_first_sheet_header_row(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["EIN", "Name", "Description", "Year", "Budget"])
    ws.append([222489340, "Fire Co", "Protects the town.", 2017.0, 1200.5])
    ws.append([None, None, None, None, None])
    ws.append(["x2", "Food Co", "Feeds people.", None, None])
    wb.create_sheet("ignored").append(["id", "text"])
    path = tmp_path / "v.xlsx"
    wb.save(path)
    batch = read(path)
    v = batch.ventures
    assert v["id"].tolist() == ["222489340", "x2"]
    assert v["year"].tolist() == [2017, None]
    assert v["source"].tolist() == ["v.xlsx:2", "v.xlsx:4"]
    assert v["metadata"].tolist() == [{"Budget": 1200.5}, {"Budget": None}]
    assert batch.documents["field"].tolist() == ["Description", "Description"]


def test_xlsx_bad_year_names_row_and_field(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["id", "text", "founded"])
    ws.append(["a", "Fine.", 1999])
    ws.append(["b", "Fine too.", "nineteen"])
    path = tmp_path / "y.xlsx"
    wb.save(path)
    with pytest.raises(InvalidInput) as exc:
        read(path)
    msg = str(exc.value)
    assert "y.xlsx" in msg and "line 3" in msg and "field 'founded'" in msg and "'nineteen'" in msg


def test_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "fake.xlsx"
    path.write_text("not a zip", encoding="utf-8")
    with pytest.raises(InvalidInput) as exc:
        read(path)
    assert "fake.xlsx" in str(exc.value) and "Fix:" in str(exc.value)


# --------------------------------------------------------------------------------------- folder


def test_folder_reader_txt_md_docx_pdf_and_skipped_types(tmp_path: Path) -> None:
    root = tmp_path / "profiles"
    (root / "sub").mkdir(parents=True)
    (root / "Solar Kiosk.txt").write_text("Solar Kiosk\r\nSells power by the hour.\n", encoding="utf-8")
    (root / "sub" / "water.md").write_text(
        "Intro line\n\n# Clean Water Co\n\nFilters water.\n", encoding="utf-8"
    )
    doc = Document()
    doc.add_heading("Mobile Clinic", level=1)
    doc.add_paragraph("Brings nurses to villages.")
    table = doc.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Founded"
    table.rows[0].cells[1].text = "2019"
    doc.save(str(root / "clinic.docx"))
    (root / "sub" / "report.pdf").write_bytes(minimal_pdf(["Open Maps Lab", "Maps slums with residents."]))
    (root / "logo.png").write_bytes(b"\x89PNG")
    (root / ".DS_Store").write_bytes(b"\x00")

    assert detect_format(root) == "folder"
    batch = read(root)
    v = batch.ventures.set_index("id")
    assert sorted(v.index) == ["clinic", "report", "solar-kiosk", "water"]
    assert v.loc["solar-kiosk", "name"] == "Solar Kiosk"
    assert v.loc["water", "name"] == "Clean Water Co"
    assert v.loc["clinic", "name"] == "Mobile Clinic"
    assert v.loc["report", "name"] == "Open Maps Lab"
    assert v.loc["water", "source"] == "sub/water.md:1"
    assert v.loc["water", "metadata"] == {"path": "sub/water.md"}
    docs = batch.documents.set_index("venture_id")
    assert set(batch.documents["field"]) == {"text"}
    assert docs.loc["solar-kiosk", "text"] == "Solar Kiosk\nSells power by the hour."
    assert "Brings nurses to villages." in docs.loc["clinic", "text"]
    assert "Founded | 2019" in docs.loc["clinic", "text"]
    pdf_text = docs.loc["report", "text"]
    assert "Open Maps Lab" in pdf_text and "Maps slums with residents." in pdf_text
    # other types are reported, hidden files are left out
    assert [(Path(s.source).name, s.line) for s in batch.skipped] == [("logo.png", None)]
    assert "'.png'" in batch.skipped[0].reason


def test_minimal_pdf_is_read_by_pypdf(tmp_path: Path) -> None:
    from pypdf import PdfReader

    path = tmp_path / "one.pdf"
    path.write_bytes(minimal_pdf(["Hello PDF world."]))
    reader = PdfReader(path)
    assert len(reader.pages) == 1
    assert reader.pages[0].extract_text().strip() == "Hello PDF world."


def test_folder_single_file_and_empty_pdf(tmp_path: Path) -> None:
    one = tmp_path / "notes.md"
    one.write_text("Just text, no heading.", encoding="utf-8")
    assert detect_format(one) == "folder"
    assert read(one).ventures["name"].tolist() == ["Just text, no heading."]
    empty_pdf = tmp_path / "scan.pdf"
    empty_pdf.write_bytes(minimal_pdf([]))
    with pytest.raises(InvalidInput) as exc:
        read(empty_pdf)
    assert "scan.pdf" in str(exc.value) and "OCR" in str(exc.value)


def test_folder_broken_docx_is_a_row_problem(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_text("Fine text.", encoding="utf-8")
    (tmp_path / "broken.docx").write_bytes(b"not a docx")
    batch = read(tmp_path, skip_invalid=True)
    assert batch.ventures["id"].tolist() == ["ok"]
    assert [Path(s.source).name for s in batch.skipped] == ["broken.docx"]
    with pytest.raises(InvalidInput, match=r"broken\.docx"):
        read(tmp_path)


def test_folder_same_stem_twice_is_a_duplicate(tmp_path: Path) -> None:
    (tmp_path / "acme.txt").write_text("One.", encoding="utf-8")
    (tmp_path / "acme.md").write_text("Two.", encoding="utf-8")
    with pytest.raises(InvalidInput) as exc:
        read(tmp_path)
    assert "acme.txt" in str(exc.value) and "'acme' again" in str(exc.value)


# ------------------------------------------------------------------------------------------ DPG

DPG_ENTRY = {
    "name": "Open Crop Map",
    "description": "Maps crops from satellite images.",
    "SDGs": [{"SDGNumber": 2, "evidenceText": "Helps farmers."}, {"SDGNumber": 13}, 2],
    "sectors": ["Agriculture"],
    "type": ["software", "data"],
    "organizations": [{"name": "Crop Lab", "website": "https://x.example", "contact_email": "a@b.c"}, "Uni"],
    "locations": {"developmentCountries": ["India"], "deploymentCountries": ["Kenya", "India"]},
    "license": [{"spdx": "MIT"}],
}


def test_dpg_reader_json_array(tmp_path: Path) -> None:
    path = tmp_path / "dpgs.json"
    second = {
        "id": "given-id",
        "name": "Second",
        "description": "Two.",
        "SDGs": [4, "5"],
        "countries": ["Peru"],
    }
    path.write_text(json.dumps([DPG_ENTRY, second], indent=2), encoding="utf-8")
    assert detect_format(path) == "dpg"
    batch = read(path)
    v = batch.ventures.set_index("id")
    assert list(v.index) == ["open-crop-map", "given-id"]
    assert v.loc["open-crop-map", "country"] == "India"
    assert v.loc["open-crop-map", "sector"] == "Agriculture"
    meta = v.loc["open-crop-map", "metadata"]
    assert meta["sdgs"] == [2, 13]
    assert meta["sdg_evidence"] == [{"sdg": 2, "text": "Helps farmers."}]
    assert meta["organizations"] == ["Crop Lab", "Uni"]
    assert meta["countries"] == ["India", "Kenya"]
    assert meta["deployment_countries"] == ["Kenya", "India"]
    assert meta["type"] == ["software", "data"]
    assert meta["license"] == [{"spdx": "MIT"}]
    assert v.loc["given-id", "metadata"]["sdgs"] == [4, 5]
    assert v.loc["given-id", "country"] == "Peru"
    assert batch.documents["field"].tolist() == ["description", "description"]


def test_dpg_reader_jsonl_detection_and_bad_sdg(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "dpg.jsonl", [DPG_ENTRY, {**DPG_ENTRY, "name": "Other", "SDGs": [18]}])
    assert detect_format(path) == "dpg"
    with pytest.raises(InvalidInput) as exc:
        read(path)
    msg = str(exc.value)
    assert "dpg.jsonl" in msg and "line 2" in msg and "field 'SDGs'" in msg and "18" in msg


def test_dpg_record_lowercase_sdgs() -> None:
    rec = dpg_record({"name": "X Y", "description": "d", "sdgs": [3, 1]})
    assert isinstance(rec, dict)
    assert rec["id"] == "x-y" and rec["sdgs"] == [3, 1]


def test_plain_json_is_not_dpg(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "v.json", [{"id": "a", "text": "t", "sdgs": [1]}])
    assert detect_format(path) == "jsonl"


# ------------------------------------------------------------------------------------ detection


def test_detect_format_by_extension(tmp_path: Path) -> None:
    for name, fmt in [("a.csv", "csv"), ("a.TSV", "csv"), ("a.xlsx", "xlsx"), ("a.txt", "folder")]:
        (tmp_path / name).write_text("", encoding="utf-8")
        assert detect_format(tmp_path / name) == fmt
    write_jsonl(tmp_path / "a.jsonl", [{"id": "a"}])
    assert detect_format(tmp_path / "a.jsonl") == "jsonl"


def test_detect_format_unknown_extension_lists_formats(tmp_path: Path) -> None:
    path = tmp_path / "data.avro"
    path.write_bytes(b"")
    with pytest.raises(InvalidInput) as exc:
        detect_format(path)
    msg = str(exc.value)
    assert "data.avro" in msg and "'.avro'" in msg and "csv, dpg, folder, jsonl, parquet, xlsx" in msg


def test_unknown_format_name_lists_valid_readers(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "v.jsonl", [{"id": "a", "text": "t"}])
    with pytest.raises(UnknownBackend) as exc:
        read(path, format="yaml")
    assert "csv, dpg, folder, jsonl, parquet, xlsx" in str(exc.value)
    assert set(readers.names()) >= {"csv", "dpg", "folder", "jsonl", "xlsx"}


def test_missing_path_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match=r"nope\.jsonl"):
        read(tmp_path / "nope.jsonl")


def test_explicit_format_overrides_extension(tmp_path: Path) -> None:
    path = tmp_path / "export.txt"
    path.write_text("id,text\na,Hello.\n", encoding="utf-8")
    assert read(path, format="csv").ventures["id"].tolist() == ["a"]
