"""Hostile input files, written on the fly (tests/ingest/test_ingest_hostile.py, bench/hostile_files.py).

Each maker writes one file into a folder and returns its path; ``HOSTILE`` maps a case name to
(maker, the words the refusal must contain).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

MB = 1 << 20
XLSX_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
XXE_DTD = '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'


def _refs(i: int) -> str:
    return ("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10


LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{_refs(i)}">' for i in range(1, 10))
    + "]>"
)


def _office_base(kind: str) -> bytes:
    """A small valid XLSX (openpyxl) or DOCX (python-docx) to start from."""
    buf = io.BytesIO()
    if kind == "xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.append(["id", "name", "description"])
        ws.append(["a", "Alpha", "Collects survey data."])
        wb.save(buf)
    else:
        from docx import Document

        doc = Document()
        doc.add_heading("Alpha", 0)
        doc.add_paragraph("Collects survey data.")
        doc.save(buf)
    return buf.getvalue()


def _replace_part(kind: str, target: Path, part: str, writer: Callable[[zipfile.ZipFile], None]) -> Path:
    """The base file with ``part`` rewritten by ``writer`` (which opens it in the new archive)."""
    src = zipfile.ZipFile(io.BytesIO(_office_base(kind)))
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            if info.filename == part:
                writer(out)
            else:
                out.writestr(info, src.read(info))
    return target


def _part_of(kind: str) -> str:
    return "xl/worksheets/sheet1.xml" if kind == "xlsx" else "word/document.xml"


def _xml_with(kind: str, prolog: str, body: str, encoding: str = "utf-8") -> bytes:
    if kind == "xlsx":
        xml = (
            f'<?xml version="1.0" encoding="{encoding.upper()}"?>\n{prolog}<worksheet xmlns="{XLSX_NS}">'
            f'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c></row>'
            f'<row r="2"><c r="A2" t="inlineStr"><is><t>{body}</t></is></c></row></sheetData></worksheet>'
        )
    else:
        w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
        xml = (
            f'<?xml version="1.0" encoding="{encoding.upper()}"?>\n{prolog}<w:document xmlns:w="{w}">'
            f"<w:body><w:p><w:r><w:t>{body}</w:t></w:r></w:p></w:body></w:document>"
        )
    return xml.encode("utf-16" if encoding == "utf-16" else encoding)


def zip_bomb(kind: str, unpacked_mb: int) -> Callable[[Path], Path]:
    """An XLSX/DOCX whose main part unpacks to ``unpacked_mb`` MB of spaces (about 1000:1)."""

    def make(folder: Path) -> Path:
        target = folder / f"bomb-{unpacked_mb}mb.{kind}"

        def write(out: zipfile.ZipFile) -> None:
            with out.open(_part_of(kind), "w", force_zip64=True) as fh:
                fh.write(_xml_with(kind, "", "x").split(b"x</")[0])
                block = b" " * MB
                for _ in range(unpacked_mb):
                    fh.write(block)
                fh.write(b"</t></is></c></row></sheetData></worksheet>" if kind == "xlsx" else b"</w:t>")

        return _replace_part(kind, target, _part_of(kind), write)

    return make


def with_dtd(kind: str, prolog: str, body: str, name: str, encoding: str = "utf-8") -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        target = folder / f"{name}.{kind}"
        data = _xml_with(kind, prolog, body, encoding)
        return _replace_part(kind, target, _part_of(kind), lambda out: out.writestr(_part_of(kind), data))

    return make


def huge_line(ext: str, mb: int) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        target = folder / f"huge-line.{ext}"
        with target.open("wb") as fh:
            fh.write(b"id,name,description\n" if ext == "csv" else b"")
            fh.write(b'{"id": "a", "description": "' if ext == "jsonl" else b"a,Alpha,")
            block = b"x" * MB
            for _ in range(mb):
                fh.write(block)
            fh.write(b'"}\n' if ext == "jsonl" else b"\n")
        return target

    return make


def unclosed_quote(mb: int) -> Callable[[Path], Path]:
    """A CSV whose second row opens a quote that never closes: the rest is one cell."""

    def make(folder: Path) -> Path:
        target = folder / "unclosed-quote.csv"
        line = b"all of this is inside one quoted cell, " * 20 + b"\n"
        with target.open("wb") as fh:
            fh.write(b'id,name,description\na,Alpha,"')
            for _ in range(mb * MB // len(line)):
                fh.write(line)
        return target

    return make


def write_bytes(name: str, data: bytes | Callable[[], bytes]) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        target = folder / name
        target.write_bytes(data() if callable(data) else data)
        return target

    return make


def _big_array(mb: int) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        target = folder / "big-array.json"
        item = b'{"id": "x", "name": "X", "description": "Collects survey data on mobile phones."},\n'
        with target.open("wb") as fh:
            fh.write(b"[\n")
            for _ in range(mb * MB // len(item)):
                fh.write(item)
            fh.write(b'{"id": "last"}]\n')
        return target

    return make


CSV_TEXT = "id,name,description\na,Caf\u00e9 Alpha,Collects survey data.\n"
HOSTILE: dict[str, tuple[Callable[[Path], Path], str]] = {
    "xlsx zip bomb (150 MB)": (zip_bomb("xlsx", 150), "zip bomb"),
    "xlsx ratio bomb (50 MB)": (zip_bomb("xlsx", 50), "zip bomb"),
    "docx zip bomb (150 MB)": (zip_bomb("docx", 150), "zip bomb"),
    "xlsx XXE": (with_dtd("xlsx", XXE_DTD, "&e;", "xxe"), "DTD"),
    "xlsx XXE in UTF-16": (with_dtd("xlsx", XXE_DTD, "&e;", "xxe16", "utf-16"), "DTD"),
    "xlsx billion laughs": (with_dtd("xlsx", LAUGHS, "&lol9;", "laughs"), "DTD"),
    "docx XXE": (with_dtd("docx", XXE_DTD, "&e;", "xxe"), "DTD"),
    "docx billion laughs": (with_dtd("docx", LAUGHS, "&lol9;", "laughs"), "DTD"),
    "jsonl 100 MB line": (huge_line("jsonl", 100), "at most 8 MB"),
    "csv 100 MB line": (huge_line("csv", 100), "at most 8 MB"),
    "csv unclosed quote (40 MB)": (unclosed_quote(40), "cell must have at most"),
    "csv 200k columns": (
        write_bytes("wide.csv", lambda: (",".join(f"c{i}" for i in range(200_000)) + "\n1\n").encode()),
        "at most 10000 columns",
    ),
    "json array 80 MB": (_big_array(80), "at most 64 MB"),
    "json nested 100k deep": (write_bytes("deep.json", b"[" * 100_000 + b"]" * 100_000), "nested too deeply"),
    "jsonl nested 100k deep": (
        write_bytes("deep.jsonl", b'{"id": "a", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"),
        "nested too deeply",
    ),
    "jsonl 100k-digit number": (write_bytes("digits.jsonl", b'{"id": ' + b"7" * 100_000 + b"}\n"), "digits"),
    "csv UTF-16": (write_bytes("utf16.csv", CSV_TEXT.encode("utf-16")), "UTF-16"),
    "jsonl UTF-16 without BOM": (
        write_bytes("utf16.jsonl", '{"id": "a", "name": "Alpha"}\n'.encode("utf-16-le")),
        "NUL bytes",
    ),
    "csv UTF-32": (write_bytes("utf32.csv", CSV_TEXT.encode("utf-32")), "UTF-32"),
    "csv Latin-1": (write_bytes("latin1.csv", CSV_TEXT.encode("latin-1")), "not UTF-8"),
    "jsonl Latin-1": (write_bytes("latin1.jsonl", '{"id": "caf\u00e9"}\n'.encode("latin-1")), "not UTF-8"),
    "csv binary junk": (write_bytes("junk.csv", bytes(range(256)) * 64), "NUL bytes"),
    "xlsx that is not a zip": (write_bytes("fake.xlsx", b"PK\x03\x04 not really a zip"), "zip archive"),
}
