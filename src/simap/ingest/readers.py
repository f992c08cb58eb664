"""Readers: turn one input path into raw records (one per venture), registered by name.

A reader is a callable ``reader(path: Path) -> Iterable[RawRecord]`` registered in ``readers``
(third-party packages add theirs through the entry point group ``simap.readers``). A reader does
no mapping and no validation of fields: it yields each row as a ``dict`` with the line it came
from, or a :class:`RawRecord` with a ``problem`` for a row it could not parse (a malformed JSON
line), so that ``read(..., skip_invalid=True)`` can report it and go on. Problems with the whole
file (not found, not UTF-8, not an XLSX workbook) raise :class:`InvalidInput` at once.

Readers never write anything.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from simap.errors import InvalidInput, NotFound
from simap.ingest.mapping import slugify
from simap.registry import Registry


@dataclass(frozen=True)
class Problem:
    """Why a row cannot become a venture: ``message`` says what was expected and what was received."""

    message: str
    field: str | None = None
    hint: str | None = None


@dataclass
class RawRecord:
    """One row of an input file, before mapping.

    ``path`` is the file as named in messages; ``label`` is how VENTURES ``source`` names it
    (``"<label>:<line>"``). Exactly one of ``data`` and ``problem`` is set. ``ignored`` marks an
    entry that is not a venture at all (a file of an unsupported type in a folder): it is always
    reported in ``IngestBatch.skipped`` and never raises.
    """

    path: str
    label: str
    line: int | None
    data: dict[str, Any] | None = None
    problem: Problem | None = None
    ignored: bool = False


Reader = Iterable[RawRecord]
readers: Registry[Reader] = Registry("readers")

FOLDER_EXTENSIONS = (".docx", ".md", ".pdf", ".txt")
_EXTENSION_FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    **{ext: "folder" for ext in (*FOLDER_EXTENSIONS, ".markdown")},
}
_DPG_MARKERS = ("SDGs", "locations")


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise NotFound(
            f"input {str(path)!r} does not exist.",
            hint="check the path (relative paths are relative to the current directory)",
        )


def detect_format(path: str | Path) -> str:
    """Name of the reader for ``path``: from the extension, ``folder`` for a directory.

    JSON and JSONL files whose first object has ``SDGs`` or ``locations`` are read as ``dpg``.
    """
    p = Path(path)
    _check_exists(p)
    if p.is_dir():
        return "folder"
    ext = p.suffix.lower()
    fmt = _EXTENSION_FORMATS.get(ext)
    if fmt is None:
        known = ", ".join(sorted(_EXTENSION_FORMATS))
        raise InvalidInput(
            f"cannot tell the format from the extension: expected one of {known} or a folder; "
            f"got {ext or '(no extension)'!r}.",
            source=str(p),
            hint=f"pass the format explicitly (one of: {', '.join(readers.names())})",
        )
    if fmt == "jsonl":
        for record in _iter_json(p):
            if record.data is not None:
                if any(marker in record.data for marker in _DPG_MARKERS):
                    return "dpg"
                break
    return fmt


# --------------------------------------------------------------------------------------- JSON


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidInput(
            f"the file must be UTF-8 text; got byte {data[exc.start : exc.start + 1]!r} that is not UTF-8.",
            source=str(path),
            line=line,
            hint="re-save the file as UTF-8",
        ) from None


def _iter_json_array(path: Path, text: str, start: int) -> Iterator[RawRecord]:
    decoder = json.JSONDecoder()
    src, label = str(path), path.name
    idx = start + 1  # after "["
    n = len(text)
    first = True
    while True:
        while idx < n and text[idx].isspace():
            idx += 1
        if idx < n and text[idx] == "]":
            return
        if not first:
            if idx >= n or text[idx] != ",":
                got = repr(text[idx]) if idx < n else "the end of the file"
                raise InvalidInput(
                    f"the JSON array must continue with ',' or end with ']'; got {got}.",
                    source=src,
                    line=text.count("\n", 0, idx) + 1,
                    hint="fix the JSON syntax at that line (or write one object per line as JSONL)",
                )
            idx += 1
            while idx < n and text[idx].isspace():
                idx += 1
        first = False
        line = text.count("\n", 0, idx) + 1
        try:
            obj, idx = decoder.raw_decode(text, idx)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"the file must be a valid JSON array; got a syntax error: {exc.msg} (column {exc.colno}).",
                source=src,
                line=exc.lineno,
                hint="fix the JSON syntax at that line (or write one object per line as JSONL)",
            ) from None
        if isinstance(obj, dict):
            yield RawRecord(src, label, line, data=obj)
        else:
            yield RawRecord(
                src, label, line, problem=Problem(f"each array item must be a JSON object; got {_kind(obj)}.")
            )


def _kind(obj: object) -> str:
    if isinstance(obj, list):
        return "an array"
    if isinstance(obj, str):
        return "a string"
    return repr(obj)


def _iter_json(path: Path) -> Iterator[RawRecord]:
    """JSON Lines; also a JSON array of objects, or one (pretty-printed) JSON object."""
    text = _decode(path, path.read_bytes())
    stripped = text.lstrip()
    if stripped.startswith("["):
        yield from _iter_json_array(path, text, len(text) - len(stripped))
        return
    src, label = str(path), path.name
    lines = text.split("\n")
    first_data = True
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            if first_data and raw.lstrip().startswith("{"):
                # maybe one pretty-printed object spread over several lines
                try:
                    whole = json.loads(text)
                except json.JSONDecodeError:
                    whole = None
                if isinstance(whole, dict):
                    yield RawRecord(src, label, number, data=whole)
                    return
            first_data = False
            yield RawRecord(
                src,
                label,
                number,
                problem=Problem(
                    f"each line must be one JSON object; got invalid JSON ({exc.msg} at column {exc.colno}).",
                    hint="fix the JSON on that line (one complete object per line)",
                ),
            )
            continue
        first_data = False
        if isinstance(obj, dict):
            yield RawRecord(src, label, number, data=obj)
        else:
            yield RawRecord(
                src,
                label,
                number,
                problem=Problem(
                    f"each line must be one JSON object; got {_kind(obj)}.",
                    hint="write one {...} object per line",
                ),
            )


@readers.register("jsonl", help="JSON Lines (also a JSON array or one JSON object): one venture per object")
def read_jsonl(path: Path) -> Iterator[RawRecord]:
    """JSON Lines: one venture per line (a JSON array of objects is read as well)."""
    _check_exists(path)
    yield from _iter_json(path)


# ---------------------------------------------------------------------------------------- DPG


def _sdg_number(item: Any) -> tuple[int | None, str | None]:
    evidence = None
    value = item
    if isinstance(item, dict):
        value = next((item[k] for k in ("SDGNumber", "sdgNumber", "sdg", "number") if k in item), None)
        evidence = item.get("evidenceText") or item.get("evidence")
    if isinstance(value, bool):
        return None, evidence
    if isinstance(value, int):
        number: int | None = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        number = None
    if number is not None and not 1 <= number <= 17:
        number = None
    return number, evidence if isinstance(evidence, str) else None


def _names(items: Any) -> list[str]:
    if items is None:
        return []
    if not isinstance(items, list):
        items = [items]
    out: list[str] = []
    for item in items:
        name = item.get("name") if isinstance(item, dict) else item
        if isinstance(name, str) and name.strip():
            out.append(name.strip())
    return out


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def dpg_record(obj: dict[str, Any]) -> dict[str, Any] | Problem:
    """Normalise one Digital Public Goods registry entry to a flat record.

    ``id`` (slug of the name unless given), ``name``, ``description``, ``sdgs`` (ints 1-17),
    ``sdg_evidence`` (list of {sdg, text}, when given), ``sectors``, ``type``, ``organizations``
    (names only), ``countries`` (development then deployment countries, or ``countries``), and every
    other field as it is.
    """
    out: dict[str, Any] = {}
    name = obj.get("name")
    given_id = obj.get("id")
    if given_id not in (None, ""):
        out["id"] = given_id
    elif isinstance(name, str) and slugify(name):
        out["id"] = slugify(name)
    out["name"] = name
    out["description"] = obj.get("description")
    sdg_key = "SDGs" if "SDGs" in obj else "sdgs"
    raw_sdgs = obj.get(sdg_key) or []
    if not isinstance(raw_sdgs, list):
        raw_sdgs = [raw_sdgs]
    sdgs: list[int] = []
    evidence: list[dict[str, Any]] = []
    for item in raw_sdgs:
        number, text = _sdg_number(item)
        if number is None:
            return Problem(
                f"SDGs must be numbers 1-17 or {{'SDGNumber': n, 'evidenceText': ...}} objects; "
                f"got {item!r}.",
                field=sdg_key,
                hint="correct or remove that SDG entry",
            )
        if number not in sdgs:
            sdgs.append(number)
        if text:
            evidence.append({"sdg": number, "text": text})
    out["sdgs"] = sdgs
    if evidence:
        out["sdg_evidence"] = evidence
    sectors = obj.get("sectors")
    out["sectors"] = _names(sectors) if sectors is not None else []
    if "type" in obj:
        out["type"] = obj["type"]
    out["organizations"] = _names(obj.get("organizations"))
    locations = obj.get("locations")
    if isinstance(locations, dict):
        development = _names(locations.get("developmentCountries"))
        deployment = _names(locations.get("deploymentCountries"))
        out["countries"] = _unique([*development, *deployment])
        out["development_countries"] = development
        out["deployment_countries"] = deployment
    else:
        out["countries"] = _names(obj.get("countries"))
    handled = {"id", "name", "description", "SDGs", "sdgs", "sectors", "type", "organizations"}
    handled |= {"locations", "countries"}
    for key, value in obj.items():
        if key not in handled:
            out[key] = value
    return out


@readers.register("dpg", help="Digital Public Goods registry entries (JSON array or JSONL)")
def read_dpg(path: Path) -> Iterator[RawRecord]:
    """Digital Public Goods registry entries: a JSON array, JSONL, or one JSON object."""
    _check_exists(path)
    for record in _iter_json(path):
        if record.data is None:
            yield record
            continue
        normalised = dpg_record(record.data)
        if isinstance(normalised, Problem):
            yield RawRecord(record.path, record.label, record.line, problem=normalised)
        else:
            yield RawRecord(record.path, record.label, record.line, data=normalised)


# ---------------------------------------------------------------------------------- CSV / XLSX


def _header(path: Path, cells: list[Any]) -> list[str | None]:
    names: list[str | None] = []
    seen: dict[str, int] = {}
    for col, cell in enumerate(cells, start=1):
        name = str(cell).strip() if cell is not None else ""
        if not name:
            names.append(None)
            continue
        if name in seen:
            raise InvalidInput(
                f"header names must be unique; got {name!r} in columns {seen[name]} and {col}.",
                source=str(path),
                line=1,
                field=name,
                hint="rename one of the two columns",
            )
        seen[name] = col
        names.append(name)
    if not seen:
        raise InvalidInput(
            "the first row must be a header with the field names; got an empty row.",
            source=str(path),
            line=1,
            hint="put the field names (e.g. id, name, description) in the first row",
        )
    return names


def _row_record(path: Path, number: int, header: list[str | None], cells: list[Any]) -> RawRecord:
    src, label = str(path), path.name
    if len(cells) > len(header) and any(c not in (None, "") for c in cells[len(header) :]):
        return RawRecord(
            src,
            label,
            number,
            problem=Problem(
                f"a row must have at most {len(header)} cells (one per header column); got {len(cells)}.",
                hint="quote cells that contain the delimiter, or add the missing header names",
            ),
        )
    data: dict[str, Any] = {}
    for col, name in enumerate(header):
        value = cells[col] if col < len(cells) else None
        if value == "":
            value = None
        if name is None:
            if value is not None:
                data[f"column_{col + 1}"] = value
            continue
        data[name] = value
    return RawRecord(src, label, number, data=data)


def _sniff_delimiter(path: Path, first_line: str) -> str:
    if path.suffix.lower() == ".tsv":
        return "\t"
    counts = {d: first_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


@readers.register("csv", help="CSV/TSV with a header row: one venture per row")
def read_csv(path: Path) -> Iterator[RawRecord]:
    """CSV (or TSV) with a header row; the delimiter is taken from the header line."""
    _check_exists(path)
    limit = csv.field_size_limit()
    if limit < 2**30:
        csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            first_line = fh.readline()
            fh.seek(0)
            # utf-8-sig: seeking back to 0 re-skips the BOM
            reader = csv.reader(fh, delimiter=_sniff_delimiter(path, first_line))
            header: list[str | None] | None = None
            for number, row in enumerate(reader, start=1):
                if header is None:
                    header = _header(path, list(row))
                    continue
                if not any(cell.strip() for cell in row):
                    continue
                yield _row_record(path, number, header, list(row))
    except UnicodeDecodeError:
        raise InvalidInput(
            "the file must be UTF-8 text; got bytes that are not UTF-8.",
            source=str(path),
            hint="re-save the file as UTF-8 (in Excel: Save As > 'CSV UTF-8')",
        ) from None
    except csv.Error as exc:
        raise InvalidInput(
            f"the file must be valid CSV; got a CSV error: {exc}.",
            source=str(path),
            hint="check the quoting around that row",
        ) from None


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return value


@readers.register("xlsx", help="Excel workbook: first sheet, header row, one venture per row")
def read_xlsx(path: Path) -> Iterator[RawRecord]:
    """Excel workbook (openpyxl): the first sheet, field names in the first row."""
    _check_exists(path)
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise InvalidInput(
            f"the file must be an Excel .xlsx workbook; got one openpyxl cannot open ({exc}).",
            source=str(path),
            hint="save it from Excel as .xlsx, or export it as CSV and read that",
        ) from None
    try:
        sheet = workbook.worksheets[0]
        header: list[str | None] | None = None
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_cell(v) for v in row]
            if header is None:
                header = _header(path, cells)
                continue
            if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                continue
            yield _row_record(path, number, header, cells)
    finally:
        workbook.close()


# ------------------------------------------------------------------------------------- folder


def _markdown_heading(text: str) -> str | None:
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith("#"):
            heading = stripped.lstrip("#").strip()
            if heading:
                return heading
    return None


def _first_line(text: str, limit: int = 150) -> str | None:
    for line in text.split("\n"):
        stripped = line.strip().lstrip("#").strip()
        if stripped:
            return stripped if len(stripped) <= limit else None
    return None


def _read_text_file(path: Path) -> str:
    return path.read_bytes().decode("utf-8-sig")


def _read_pdf(path: Path) -> str:
    from pypdf import PdfReader

    reader = PdfReader(path)
    if reader.is_encrypted:
        try:
            reader.decrypt("")
        except Exception:
            raise ValueError("the PDF is encrypted") from None
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def _read_docx(path: Path) -> tuple[str, str | None]:
    from docx import Document
    from docx.table import Table

    document = Document(str(path))
    lines: list[str] = []
    heading = None
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                cells = _unique(c.text.strip() for c in row.cells)
                lines.append(" | ".join(c for c in cells if c))
            continue
        text = block.text
        style = (block.style.name if block.style is not None else "") or ""
        if heading is None and text.strip() and (style.startswith("Heading") or style == "Title"):
            heading = text.strip()
        lines.append(text)
    return "\n".join(lines), heading


def _folder_entries(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    out = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue  # hidden files and folders (.git, .DS_Store)
        if p.is_file():
            out.append(p)
    return out


@readers.register("folder", help="a folder of .txt/.md/.pdf/.docx files: one venture per file")
def read_folder(path: Path) -> Iterator[RawRecord]:
    """One venture per file (.txt, .md, .pdf, .docx), recursively; id is the slug of the file stem.

    The name is the first heading (markdown ``#`` or a DOCX Heading/Title), else the first line
    (when short), else the file stem; the text field is ``text``; metadata keeps ``path``. Files of
    other types are reported as skipped; hidden files and folders are left out.
    """
    _check_exists(path)
    root = path if path.is_dir() else path.parent
    supported = ", ".join(FOLDER_EXTENSIONS)
    for file in _folder_entries(path):
        rel = file.relative_to(root).as_posix()
        src = str(file)
        ext = file.suffix.lower()
        if ext == ".markdown":
            ext = ".md"
        if ext not in FOLDER_EXTENSIONS:
            yield RawRecord(
                src,
                rel,
                None,
                problem=Problem(
                    f"file type must be one of {supported}; got {file.suffix or '(no extension)'!r}, "
                    "so the file was not read."
                ),
                ignored=True,
            )
            continue
        heading: str | None = None
        try:
            if ext == ".pdf":
                text = _read_pdf(file)
            elif ext == ".docx":
                text, heading = _read_docx(file)
            else:
                text = _read_text_file(file)
                if ext == ".md":
                    heading = _markdown_heading(text)
        except UnicodeDecodeError:
            problem = Problem(
                "the file must be UTF-8 text; got bytes that are not UTF-8.", hint="re-save as UTF-8"
            )
            yield RawRecord(src, rel, 1, problem=problem)
            continue
        except Exception as exc:
            yield RawRecord(
                src,
                rel,
                1,
                problem=Problem(
                    f"the file must be a readable {ext[1:].upper()} document; "
                    f"got an error reading it ({exc}).",
                    hint="open and re-save the file, or convert it to .txt",
                ),
            )
            continue
        if ext == ".pdf" and not text.strip():
            yield RawRecord(
                src,
                rel,
                1,
                problem=Problem(
                    "a PDF must contain extractable text; got none (a scanned image?).",
                    field="text",
                    hint="run OCR on the PDF first, or supply the text as a .txt file",
                ),
            )
            continue
        normalised = text.replace("\r\n", "\n")
        name = heading or _first_line(normalised) or file.stem
        yield RawRecord(src, rel, 1, data={"id": slugify(file.stem), "name": name, "text": text, "path": rel})
