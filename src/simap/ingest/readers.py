"""Readers: turn one input path into raw records (one per venture), registered by name.

A reader is a callable ``reader(path: Path) -> Iterable[RawRecord]`` registered in ``readers``
(third-party packages add theirs through the entry point group ``simap.readers``). A reader does
no mapping and no validation of fields: it yields each row as a ``dict`` with the line it came
from, or a :class:`RawRecord` with a ``problem`` for a row it could not parse (a malformed JSON
line), so that ``read(..., skip_invalid=True)`` can report it and go on. Problems with the whole
file (not found, not UTF-8, not an XLSX workbook) raise :class:`InvalidInput` at once.

Hostile files fail cleanly (an :class:`InvalidInput`, quickly, in bounded memory): lines longer
than ``MAX_LINE_BYTES`` in JSONL/CSV, cells longer than ``MAX_CELL_CHARS``, more than
``MAX_COLUMNS`` columns, JSON read as a whole (an array, one pretty-printed object) larger than
``MAX_DOCUMENT_BYTES`` or nested too deeply, UTF-16/UTF-32 or NUL bytes where UTF-8 is expected,
and XLSX/DOCX archives that unpack to more than ``MAX_UNZIPPED_BYTES`` (or at a ratio above
``MAX_ZIP_RATIO``: a zip bomb), have more than ``MAX_ZIP_MEMBERS`` parts, or carry a DTD in an
XML part (XXE, billion laughs: Office files never need one). ``bench/hostile_files.py`` measures
the time and memory of each refusal.

Readers never write anything.
"""

from __future__ import annotations

import codecs
import csv
import json
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
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
    reported in ``IngestBatch.skipped`` and never raises. ``offset``, when the reader knows it,
    is how many bytes of the file were read when the record was made (for progress only).
    """

    path: str
    label: str
    line: int | None
    data: dict[str, Any] | None = None
    problem: Problem | None = None
    ignored: bool = False
    offset: int | None = None


@dataclass(frozen=True)
class ReaderInfo:
    """What a reader can tell about a file before reading its rows (see :func:`reader_info`).

    ``fields``: the field names every record will have (a header, a Parquet schema), or ``None``
    when only reading every record tells (JSON Lines). ``rows``: the number of records when
    known up front (Parquet metadata, the files of a folder). ``size``: the file's bytes, for
    progress from :attr:`RawRecord.offset`.
    """

    fields: list[str] | None = None
    rows: int | None = None
    size: int | None = None


Reader = Iterable[RawRecord]
readers: Registry[Reader] = Registry("readers")
_INFO: dict[str, Callable[[Path], ReaderInfo]] = {}


def reader_info(format: str, path: Path) -> ReaderInfo:
    """:class:`ReaderInfo` of ``path`` for the reader ``format`` (empty for readers that know
    nothing up front, e.g. third-party ones): the streaming import uses it to map fields without
    a first pass over the file and to show progress."""
    info = _INFO.get(format)
    if info is None:
        size = path.stat().st_size if path.is_file() else None
        return ReaderInfo(size=size)
    return info(path)


FOLDER_EXTENSIONS = (".docx", ".md", ".pdf", ".txt")
_EXTENSION_FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".parquet": "parquet",
    ".pq": "parquet",
    **{ext: "folder" for ext in (*FOLDER_EXTENSIONS, ".markdown")},
}
_DPG_MARKERS = ("SDGs", "locations")

MAX_LINE_BYTES = 8 << 20  # one JSONL/CSV line
MAX_CELL_CHARS = 8 << 20  # one CSV field (may span lines)
MAX_COLUMNS = 10_000
MAX_DOCUMENT_BYTES = 64 << 20  # a JSON array or object parsed as a whole
MAX_TEXT_FILE_BYTES = 64 << 20  # one .txt/.md document of a folder
MAX_UNZIPPED_BYTES = 100 << 20  # XLSX/DOCX, all parts unpacked
MAX_ZIP_RATIO = 100  # unpacked / packed, checked above 1 MB
MAX_ZIP_MEMBERS = 10_000


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


def _not_utf8(path: Path, line: int | None, got: str) -> InvalidInput:
    return InvalidInput(
        f"the file must be UTF-8 text; got {got}.",
        source=str(path),
        line=line,
        hint="re-save the file as UTF-8",
    )


def _check_text_encoding(path: Path, head: bytes) -> None:
    """Refuse UTF-16/UTF-32 and binary files up front, with a message saying which."""
    for bom, name in (
        (codecs.BOM_UTF32_LE, "UTF-32"),
        (codecs.BOM_UTF32_BE, "UTF-32"),
        (codecs.BOM_UTF16_LE, "UTF-16"),
        (codecs.BOM_UTF16_BE, "UTF-16"),
    ):
        if head.startswith(bom):
            raise _not_utf8(path, 1, f"{name} text (it starts with a {name} byte-order mark)")
    if b"\x00" in head:
        line = head[: head.index(b"\x00")].count(b"\n") + 1
        raise _not_utf8(path, line, "NUL bytes (a binary file, or UTF-16 without a byte-order mark)")


def _decode(path: Path, data: bytes, first_line: int = 1) -> str:
    try:
        return data.decode("utf-8-sig" if first_line == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        line = first_line + data[: exc.start].count(b"\n")
        raise _not_utf8(path, line, f"byte {data[exc.start : exc.start + 1]!r} that is not UTF-8") from None


def _too_long_line(path: Path, line: int) -> InvalidInput:
    return InvalidInput(
        f"a line must have at most {MAX_LINE_BYTES >> 20} MB; got a longer one.",
        source=str(path),
        line=line,
        hint="check that the file is really JSON Lines or CSV (one record per line)",
    )


def _bounded_lines(path: Path, fh: Any) -> Iterator[Any]:
    """The lines of a file opened in binary or text mode, each at most MAX_LINE_BYTES bytes or
    characters (else InvalidInput naming the line)."""
    number = 0
    while True:
        line = fh.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE_BYTES:
            raise _too_long_line(path, number)
        yield line


def _whole_document(path: Path) -> str:
    size = path.stat().st_size
    if size > MAX_DOCUMENT_BYTES:
        raise InvalidInput(
            f"a JSON array or a single JSON object must be at most {MAX_DOCUMENT_BYTES >> 20} MB; "
            f"got {size / (1 << 20):.0f} MB.",
            source=str(path),
            hint="write one object per line (JSON Lines) instead",
        )
    return _decode(path, path.read_bytes())


def _iter_json_array(path: Path, text: str, start: int) -> Iterator[RawRecord]:
    decoder = json.JSONDecoder()
    src, label = str(path), path.name
    idx = start + 1  # after "["
    n = len(text)
    first = True
    counted, lines_before = 0, 0  # newlines in text[:counted], kept up to date (not recounted)

    def line_at(pos: int) -> int:
        nonlocal counted, lines_before
        lines_before += text.count("\n", counted, pos)
        counted = pos
        return lines_before + 1

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
                    line=line_at(idx),
                    hint="fix the JSON syntax at that line (or write one object per line as JSONL)",
                )
            idx += 1
            while idx < n and text[idx].isspace():
                idx += 1
        first = False
        line = line_at(idx)
        try:
            obj, idx = decoder.raw_decode(text, idx)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"the file must be a valid JSON array; got a syntax error: {exc.msg} (column {exc.colno}).",
                source=src,
                line=exc.lineno,
                hint="fix the JSON syntax at that line (or write one object per line as JSONL)",
            ) from None
        except (RecursionError, ValueError) as exc:
            raise InvalidInput(
                f"the file must be a JSON array of venture objects; "
                f"got one that cannot be read ({_why(exc)}).",
                source=src,
                line=line,
                hint="check the file (arrays nested hundreds deep, or numbers thousands of digits long?)",
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


def _why(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "it is nested too deeply"
    return str(exc).split("\n")[0][:200] or type(exc).__name__


def _iter_json(path: Path) -> Iterator[RawRecord]:
    """JSON Lines; also a JSON array of objects, or one (pretty-printed) JSON object.

    JSON Lines are read line by line (each at most MAX_LINE_BYTES); an array or a pretty-printed
    object is parsed as a whole (at most MAX_DOCUMENT_BYTES).
    """
    src, label = str(path), path.name
    with path.open("rb") as fh:
        head = fh.read(4096)
        _check_text_encoding(path, head)
        if head.removeprefix(codecs.BOM_UTF8).lstrip().startswith(b"["):
            text = _whole_document(path)
            stripped = text.lstrip()
            yield from _iter_json_array(path, text, len(text) - len(stripped))
            return
        fh.seek(0)
        first_data = True
        offset = 0
        for number, raw_bytes in enumerate(_bounded_lines(path, fh), start=1):
            offset += len(raw_bytes)
            raw = _decode(path, raw_bytes, number)
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as exc:
                if first_data and raw.lstrip().startswith("{"):
                    # maybe one pretty-printed object spread over several lines
                    try:
                        whole = json.loads(_whole_document(path))
                    except (ValueError, RecursionError):
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
                        f"each line must be one JSON object; "
                        f"got invalid JSON ({exc.msg} at column {exc.colno}).",
                        hint="fix the JSON on that line (one complete object per line)",
                    ),
                    offset=offset,
                )
                continue
            except (RecursionError, ValueError) as exc:
                first_data = False
                yield RawRecord(
                    src,
                    label,
                    number,
                    problem=Problem(
                        f"each line must be one JSON object; got one that cannot be read ({_why(exc)}).",
                        hint="check that line of the file",
                    ),
                    offset=offset,
                )
                continue
            first_data = False
            if isinstance(obj, dict):
                yield RawRecord(src, label, number, data=obj, offset=offset)
            else:
                yield RawRecord(
                    src,
                    label,
                    number,
                    problem=Problem(
                        f"each line must be one JSON object; got {_kind(obj)}.",
                        hint="write one {...} object per line",
                    ),
                    offset=offset,
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
            yield RawRecord(record.path, record.label, record.line, problem=normalised, offset=record.offset)
        else:
            yield RawRecord(record.path, record.label, record.line, data=normalised, offset=record.offset)


# ---------------------------------------------------------------------------------- CSV / XLSX


def _header(path: Path, cells: list[Any]) -> list[str | None]:
    if len(cells) > MAX_COLUMNS:
        raise InvalidInput(
            f"a file must have at most {MAX_COLUMNS} columns; got {len(cells)}.",
            source=str(path),
            line=1,
            hint="keep the venture fields only (id, name, description, ...)",
        )
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
    yield from _csv_records(path)


def _csv_records(path: Path, *, header_only: bool = False) -> Iterator[RawRecord]:
    """The rows of a CSV file; with ``header_only`` one record whose keys are the header names."""
    _check_exists(path)
    csv.field_size_limit(MAX_CELL_CHARS)
    with path.open("rb") as raw:
        _check_text_encoding(path, raw.read(4096))
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            first_line = fh.readline(MAX_LINE_BYTES + 1)
            if len(first_line) > MAX_LINE_BYTES:
                raise _too_long_line(path, 1)
            fh.seek(0)
            # utf-8-sig: seeking back to 0 re-skips the BOM
            reader = csv.reader(_bounded_lines(path, fh), delimiter=_sniff_delimiter(path, first_line))
            tell = fh.buffer.raw.tell  # type: ignore[attr-defined]  # bytes read ahead of the parser (by at most a buffer): progress
            header: list[str | None] | None = None
            for number, row in enumerate(reader, start=1):
                if header is None:
                    header = _header(path, list(row))
                    if header_only:
                        yield RawRecord(str(path), path.name, 1, data=dict.fromkeys(h for h in header if h))
                        return
                    continue
                if not any(cell.strip() for cell in row):
                    continue
                record = _row_record(path, number, header, list(row))
                record.offset = tell()
                yield record
    except UnicodeDecodeError:
        raise InvalidInput(
            "the file must be UTF-8 text; got bytes that are not UTF-8.",
            source=str(path),
            hint="re-save the file as UTF-8 (in Excel: Save As > 'CSV UTF-8')",
        ) from None
    except csv.Error as exc:
        if "field limit" in str(exc):
            raise InvalidInput(
                f"a CSV cell must have at most {MAX_CELL_CHARS >> 20} M characters; got a longer one.",
                source=str(path),
                hint="check the quoting (an unclosed quote makes the rest of the file one cell)",
            ) from None
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
    yield from _xlsx_records(path)


def _xlsx_records(path: Path, *, header_only: bool = False) -> Iterator[RawRecord]:
    _check_exists(path)
    from openpyxl import load_workbook

    check_office_file(path, "an Excel .xlsx workbook")
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
        if (sheet.max_column or 0) > MAX_COLUMNS:
            raise InvalidInput(
                f"a sheet must have at most {MAX_COLUMNS} columns; got {sheet.max_column}.",
                source=str(path),
                hint="keep the venture fields only, or export the sheet as CSV",
            )
        header: list[str | None] | None = None
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_cell(v) for v in row]
            if header is None:
                header = _header(path, cells)
                if header_only:
                    rows = max(0, (sheet.max_row or 1) - 1)
                    yield RawRecord(str(path), path.name, rows, data=dict.fromkeys(h for h in header if h))
                    return
                continue
            if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                continue
            yield _row_record(path, number, header, cells)
    finally:
        workbook.close()


def _header_info(records: Iterator[RawRecord], path: Path, *, rows_in_line: bool) -> ReaderInfo:
    """Fields from the header record of ``_csv_records``/``_xlsx_records(header_only=True)``
    (the XLSX one carries the sheet's row count as its ``line``)."""
    first = next(records, None)
    size = path.stat().st_size
    if first is None or first.data is None:
        return ReaderInfo(fields=None, size=size)
    return ReaderInfo(fields=list(first.data), rows=first.line if rows_in_line else None, size=size)


_INFO["csv"] = lambda path: _header_info(_csv_records(path, header_only=True), path, rows_in_line=False)
_INFO["xlsx"] = lambda path: _header_info(_xlsx_records(path, header_only=True), path, rows_in_line=True)


# ------------------------------------------------------------------------------------ Parquet

PARQUET_BATCH_ROWS = 1024  # rows decoded at a time (the file is read by row groups)
_PANDAS_INDEX = "__index_level_"


def _open_parquet(path: Path) -> Any:
    import pyarrow.parquet as pq

    _check_exists(path)
    try:
        return pq.ParquetFile(path, buffer_size=1 << 20, pre_buffer=False)
    except Exception as exc:
        raise InvalidInput(
            f"the file must be an Apache Parquet file; got one pyarrow cannot open ({_why(exc)}).",
            source=str(path),
            hint="write it again with pandas.DataFrame.to_parquet or pyarrow.parquet.write_table, "
            "or export it as CSV",
        ) from None


def _parquet_fields(path: Path, pf: Any) -> list[str]:
    names = [n for n in pf.schema_arrow.names if not n.startswith(_PANDAS_INDEX)]
    if len(names) > MAX_COLUMNS:
        raise InvalidInput(
            f"a file must have at most {MAX_COLUMNS} columns; got {len(names)}.",
            source=str(path),
            hint="keep the venture fields only (id, name, description, ...)",
        )
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InvalidInput(
                f"column names must be unique; got {name!r} twice.",
                source=str(path),
                field=name,
                hint="rename one of the two columns",
            )
        seen.add(name)
    return names


def _parquet_value(value: Any) -> Any:
    if isinstance(value, str):
        return value if value else None
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def _parquet_info(path: Path) -> ReaderInfo:
    pf = _open_parquet(path)
    return ReaderInfo(
        fields=_parquet_fields(path, pf), rows=int(pf.metadata.num_rows), size=path.stat().st_size
    )


@readers.register("parquet", help="Apache Parquet: one venture per row, read by row groups in bounded memory")
def read_parquet(path: Path) -> Iterator[RawRecord]:
    """Apache Parquet (pyarrow), read ``PARQUET_BATCH_ROWS`` rows at a time.

    Columns are fields as in CSV (a pandas index column is left out); ``line`` is the row number
    (1 = the first row). Lists and structs stay lists and dicts (metadata); dates become ISO
    strings; empty strings are missing values, as in CSV.
    """
    pf = _open_parquet(path)
    names = _parquet_fields(path, pf)
    src, label = str(path), path.name
    number = 0
    batches = pf.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=names)
    while True:
        try:
            batch = next(batches, None)
            if batch is None:
                return
            rows = batch.to_pylist()
        except InvalidInput:
            raise
        except Exception as exc:
            raise InvalidInput(
                f"the file must be a readable Parquet file; got an error reading rows after row {number} "
                f"({_why(exc)}).",
                source=src,
                line=number + 1,
                hint="the file is damaged or truncated: write it again, or export it as CSV",
            ) from None
        for row in rows:
            number += 1
            long = next(
                (k for k, v in row.items() if isinstance(v, str | bytes) and len(v) > MAX_CELL_CHARS), None
            )
            if long is not None:
                yield RawRecord(
                    src,
                    label,
                    number,
                    problem=Problem(
                        f"a cell must have at most {MAX_CELL_CHARS >> 20} M characters; "
                        f"got {len(row[long])} in '{long}'.",
                        field=long,
                        hint="shorten that cell, or split the text over several fields",
                    ),
                )
                continue
            yield RawRecord(src, label, number, data={k: _parquet_value(v) for k, v in row.items()})


_INFO["parquet"] = _parquet_info


# ------------------------------------------------------------------------------ Office archives


def _zip_bomb(path: Path, what: str, got: str) -> InvalidInput:
    return InvalidInput(
        f"{what} must unpack to at most {MAX_UNZIPPED_BYTES >> 20} MB "
        f"(and compress at most {MAX_ZIP_RATIO}:1); got {got}, so it was not opened.",
        source=str(path),
        hint="a file this large or this compressed is likely a zip bomb; export the data as CSV",
    )


_XML_START = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (b"<\x00", "utf-16-le"),
    (b"\x00<", "utf-16-be"),
    (codecs.BOM_UTF8, "utf-8"),
)


def _xml_encoding(head: bytes) -> str | None:
    """The encoding family of an XML part from its first bytes (XML 1.0 appendix F); None if not XML."""
    for start, name in _XML_START:
        if head.startswith(start):
            return name
    return "utf-8" if head.lstrip()[:1] == b"<" else None


def check_office_file(path: Path, what: str) -> None:
    """Refuse an XLSX/DOCX that is a zip bomb or whose XML carries a DTD (XXE), before parsing it."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InvalidInput(
            f"the file must be {what} (a zip archive); got one that is not ({exc}).",
            source=str(path),
            hint="save it again from the office program, or export it as CSV",
        ) from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ZIP_MEMBERS:
            raise InvalidInput(
                f"{what} must have at most {MAX_ZIP_MEMBERS} parts; got {len(infos)}.", source=str(path)
            )
        unpacked = sum(i.file_size for i in infos)
        packed = max(1, sum(i.compress_size for i in infos))
        if unpacked > MAX_UNZIPPED_BYTES:
            raise _zip_bomb(path, what, f"{unpacked / (1 << 20):.0f} MB")
        if unpacked > (1 << 20) and unpacked / packed > MAX_ZIP_RATIO:
            raise _zip_bomb(path, what, f"a ratio of {unpacked / packed:.0f}:1")
        for info in infos:
            name = info.filename.rsplit("/", 1)[-1].lower()
            if info.is_dir() or not name.endswith((".xml", ".rels", ".vml")):
                continue
            try:
                _scan_xml_part(path, archive, info, what)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
                raise InvalidInput(
                    f"the file must be {what}; got a damaged archive ({info.filename}: {exc}).",
                    source=str(path),
                    hint="save it again from the office program, or export it as CSV",
                ) from None


def _scan_xml_part(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, what: str) -> None:
    with archive.open(info) as fh:
        chunk = fh.read(1 << 20)
        if not chunk:
            return
        encoding = _xml_encoding(chunk)
        if encoding is None:
            raise InvalidInput(
                f"the parts of {what} must be XML; got {info.filename} that is not.",
                source=str(path),
                hint="save it again from the office program, or export it as CSV",
            )
        marker = "<!DOCTYPE".encode(encoding)
        tail = b""
        while chunk:
            window = tail + chunk
            if marker in window:
                raise InvalidInput(
                    f"{what} must not declare a DTD (<!DOCTYPE>); got one in {info.filename}, so it was not "
                    "opened (external entities and entity expansion are a known attack).",
                    source=str(path),
                    hint="save the file again from the office program",
                )
            tail = window[-len(marker) :]
            chunk = fh.read(1 << 20)


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
    size = path.stat().st_size
    if size > MAX_TEXT_FILE_BYTES:
        raise ValueError(f"the file has {size >> 20} MB; at most {MAX_TEXT_FILE_BYTES >> 20} MB are read")
    data = path.read_bytes()
    _check_text_encoding(path, data[:4096])
    return data.decode("utf-8-sig")


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

    check_office_file(path, "a Word .docx document")
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


def _folder_info(path: Path) -> ReaderInfo:
    return ReaderInfo(fields=["id", "name", "text", "path"], rows=len(_folder_entries(path)))


_INFO["folder"] = _folder_info


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
        except InvalidInput as exc:  # a refused file (hostile archive, UTF-16 text): its own message
            yield RawRecord(src, rel, exc.line or 1, problem=Problem(exc.message, hint=exc.hint))
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
