"""``read``: one input path -> an :class:`IngestBatch` (VENTURES and DOCUMENTS frames);
``iter_batches``: the same, as a stream of chunks of at most ``CHUNK_ROWS`` rows (bounded memory).

Per row: the id must be present and non-empty after mapping, at least one text field must be
non-empty, the year (if any) an integer in 1800..2100, and no id may repeat within the input. The
first bad row raises :class:`InvalidInput` (file, line, field, what was expected and received, and
the fix) unless ``skip_invalid=True``, which reports every bad row as a :class:`SkippedRow` and
keeps the rest. Texts are kept as they are except for stripping outer whitespace and turning
``\\r\\n`` into ``\\n``, so character offsets into DOCUMENTS texts stay valid evidence pointers.

Streaming: the field mapping is resolved from what the reader knows up front (a CSV header, a
Parquet schema; :func:`~simap.ingest.readers.reader_info`), else from a first pass that only
collects the field names of every record (JSON Lines), so a stream maps fields exactly as a
whole-file read. Duplicate ids are found across chunks through a :class:`SeenIds` (in memory by
default; the import keeps them in a temporary database table so memory does not grow with N).
Within a chunk problems are reported in file order, so the first bad row is the one that raises.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from simap.batches import DOCUMENT_COLUMNS, VENTURE_COLUMNS, IngestBatch, SkippedRow, empty
from simap.errors import InvalidInput
from simap.ingest.mapping import FieldMapping, ResolvedMapping, slugify
from simap.ingest.readers import (
    Problem,
    RawRecord,
    ReaderInfo,
    _check_exists,
    detect_format,
    reader_info,
    readers,
)

YEAR_MIN, YEAR_MAX = 1800, 2100
CHUNK_ROWS = 5000
"""Rows per chunk of :func:`iter_batches` (and of the streaming import)."""
CHUNK_CHARS = 32 << 20
"""A chunk also ends once its texts reach this many characters (long documents)."""


def normalise_text(value: str) -> str:
    """The only change made to texts: ``\\r\\n`` -> ``\\n`` and outer whitespace stripped."""
    return value.replace("\r\n", "\n").strip()


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (NaN -> None, dates -> ISO strings, unknown objects -> str)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, Decimal):
        return jsonable(float(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return jsonable(item())
    return str(value)


def _scalar_str(value: Any) -> str | None:
    """A str for str/int/integral-float values (ids, names, countries); None when not a scalar."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float) and not math.isnan(value):
        return str(value)
    return None


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str | list | dict) and not (value.strip() if isinstance(value, str) else value)


def _first_of(value: Any) -> tuple[str | None, list[Any] | None]:
    """``(first item as str, full list)`` for a list; ``(str, None)`` for a scalar."""
    if isinstance(value, list | tuple):
        items = [v for v in value if not _is_empty(v)]
        first = _scalar_str(items[0]) if items else None
        if first is None and items and isinstance(items[0], dict):
            first = _scalar_str(items[0].get("name"))
        return (first or None), list(value)
    if _is_empty(value):
        return None, None
    return (_scalar_str(value) or None), None


def _year(value: Any, field: str) -> int | Problem | None:
    if _is_empty(value):
        return None
    year: int | None = None
    if isinstance(value, bool):
        year = None
    elif isinstance(value, int):
        year = value
    elif isinstance(value, float) and value.is_integer():
        year = int(value)
    elif isinstance(value, str) and value.strip().lstrip("+").isdigit():
        year = int(value.strip())
    elif isinstance(value, datetime | date):
        year = value.year
    elif isinstance(value, str) and len(value.strip()) >= 10 and value.strip()[:4].isdigit():
        try:  # ISO date such as "2015-03-01"
            year = date.fromisoformat(value.strip()[:10]).year
        except ValueError:
            year = None
    if year is None or not YEAR_MIN <= year <= YEAR_MAX:
        return Problem(
            f"year must be an integer between {YEAR_MIN} and {YEAR_MAX}; got {value!r}.",
            field=field,
            hint=f"write a 4-digit year such as 2015 (or leave '{field}' empty), "
            "or map another field with --map year=FIELD",
        )
    return year


def _text(value: Any, field: str) -> str | Problem | None:
    if _is_empty(value):
        return None
    if isinstance(value, str):
        return normalise_text(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return normalise_text("\n\n".join(v for v in value if v.strip()))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return normalise_text(str(value))
    return Problem(
        f"a text field must be a string; got {type(value).__name__} {str(value)[:60]!r}.",
        field=field,
        hint=f"put plain text in '{field}', or map other text fields with --map text=FIELD[,FIELD]",
    )


def to_venture(
    data: dict[str, Any], rm: ResolvedMapping, source: str
) -> tuple[dict[str, Any], list[dict[str, Any]]] | Problem:
    """One VENTURES row and its DOCUMENTS rows from a raw record, or the first problem found."""
    name_raw = data.get(rm.name) if rm.name is not None else None
    name = _scalar_str(name_raw) if not _is_empty(name_raw) else None
    if name_raw is not None and not _is_empty(name_raw) and name is None:
        return Problem(
            f"name must be a string; got {type(name_raw).__name__} {str(name_raw)[:60]!r}.",
            field=rm.name,
            hint="put the venture's name as text, or map another field with --map name=FIELD",
        )
    if rm.id is not None:
        id_raw = data.get(rm.id)
        vid = _scalar_str(id_raw) if not _is_empty(id_raw) else None
        if not vid:
            return Problem(
                f"id must be a non-empty string or number; got {id_raw!r}.",
                field=rm.id,
                hint=f"fill in '{rm.id}' on that line, or map another id field with --map id=FIELD",
            )
    else:
        vid = slugify(name) if name else None
        if not vid:
            return Problem(
                "id must be present: with no id field (id, ein, slug) it is the slug of the name; "
                f"got name {name_raw!r}.",
                field=rm.name or "id",
                hint="add an 'id' column or a non-empty name, or map an id field with --map id=FIELD",
            )
    texts: list[dict[str, Any]] = []
    for field in rm.text:
        text = _text(data.get(field), field)
        if isinstance(text, Problem):
            return text
        if text:
            texts.append({"venture_id": vid, "field": field, "text": text})
    if not texts:
        got = ", ".join(f"{f}={data.get(f)!r}" for f in rm.text)
        return Problem(
            f"at least one text field ({', '.join(rm.text)}) must be non-empty; got {got}.",
            field=rm.text[0] if len(rm.text) == 1 else ",".join(rm.text),
            hint="fill in the text on that line, or map other text fields with --map text=FIELD[,FIELD]",
        )
    year: int | Problem | None = None
    if rm.year is not None:
        year = _year(data.get(rm.year), rm.year)
        if isinstance(year, Problem):
            return year
    country, countries = _first_of(data.get(rm.country)) if rm.country is not None else (None, None)
    sector, sectors = _first_of(data.get(rm.sector)) if rm.sector is not None else (None, None)
    keys = rm.metadata if rm.metadata is not None else [k for k in data if k not in rm.used]
    metadata = {k: jsonable(data.get(k)) for k in keys}
    if countries is not None:
        metadata["countries"] = jsonable(countries)
    if sectors is not None:
        metadata["sectors"] = jsonable(sectors)
    venture = {
        "id": vid,
        "name": name or vid,
        "country": country,
        "sector": sector,
        "year": year,
        "metadata": metadata,
        "source": source,
    }
    return venture, texts


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    if not rows:
        return empty(columns)
    return pd.DataFrame({c: pd.Series([r[c] for r in rows], dtype="object") for c in columns})


Where = tuple[str, int | None]
"""(path, line) of the row that first had an id."""


class SeenIds(Protocol):
    """The ids a stream has accepted so far (duplicates across chunks are refused)."""

    def first_seen(self, ids: Sequence[str]) -> dict[str, Where]:
        """``{id: (path, line)}`` for those of ``ids`` accepted earlier."""
        ...

    def add(self, rows: Sequence[tuple[str, str, int | None]]) -> None:
        """Remember ``(id, path, line)`` rows as accepted."""
        ...


class MemorySeenIds:
    """:class:`SeenIds` in a dict (memory grows with the number of ids)."""

    def __init__(self) -> None:
        self._seen: dict[str, Where] = {}

    def first_seen(self, ids: Sequence[str]) -> dict[str, Where]:
        seen = self._seen
        return {i: seen[i] for i in ids if i in seen}

    def add(self, rows: Sequence[tuple[str, str, int | None]]) -> None:
        for vid, path, line in rows:
            self._seen.setdefault(vid, (path, line))


def _duplicate(vid: str, first: Where, record: RawRecord, rm: ResolvedMapping) -> Problem:
    where = f"line {first[1]}" if first[0] == record.path else f"{first[0]}"
    return Problem(
        f"ids must be unique within one input; got {vid!r} again (first at {where}).",
        field=rm.id or rm.name or "id",
        hint="give each venture its own id, or remove the duplicate row",
    )


class BatchStream:
    """The chunks of one input as :class:`IngestBatch` objects (see :func:`iter_batches`).

    While it is iterated, ``rows_read`` counts the records read so far and :meth:`total_rows`
    estimates how many there are (exact when the reader or a first pass knows; else from the
    bytes read; ``None`` when unknown), for progress bars.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        format: str | None = None,
        mapping: FieldMapping | None = None,
        skip_invalid: bool = False,
        chunk_rows: int = CHUNK_ROWS,
        seen: SeenIds | None = None,
        records: Sequence[RawRecord] | None = None,
    ) -> None:
        self.path = Path(path)
        _check_exists(self.path)
        self.format = format if format is not None else detect_format(self.path)
        self.reader = readers.get(self.format)
        self.mapping = mapping or FieldMapping()
        self.skip_invalid = skip_invalid
        self.chunk_rows = max(1, int(chunk_rows))
        self.seen: SeenIds = seen if seen is not None else MemorySeenIds()
        self._records = records
        self.rows_read = 0
        self._offset: int | None = None
        self._info = ReaderInfo() if records is not None else reader_info(self.format, self.path)
        self._rows: int | None = len(records) if records is not None else self._info.rows
        self.resolved: ResolvedMapping | None = None

    def total_rows(self) -> int | None:
        if self._rows is not None:
            return max(self._rows, self.rows_read)
        size = self._info.size
        if size and self._offset and self.rows_read:
            return max(self.rows_read, round(self.rows_read * size / self._offset))
        return None

    def _read(self) -> Iterable[RawRecord]:
        return self._records if self._records is not None else self.reader(self.path)

    def _fields(self) -> tuple[list[str], bool]:
        """The field names to resolve the mapping against, and whether they are known only
        lazily (a header: resolve at the first data row, so a header-only file reads as empty)."""
        if self._records is None and self._info.fields is not None:
            try:
                self.mapping.resolve(self._info.fields, source=str(self.path))
                return self._info.fields, True
            except InvalidInput:
                pass  # a field the header lacks (column_3?): look at every record, as read() did
        fields: dict[str, None] = {}
        rows = 0
        for record in self._read():
            rows += 1
            if record.data is not None:
                fields.update(dict.fromkeys(record.data))
        self._rows = rows
        return list(fields), False

    def __iter__(self) -> Iterator[IngestBatch]:
        fields, lazy = self._fields()
        rm: ResolvedMapping | None = None
        if fields and not lazy:
            rm = self.resolved = self.mapping.resolve(fields, source=str(self.path))
        ventures: list[tuple[int, RawRecord, dict[str, Any], list[dict[str, Any]]]] = []
        problems: list[tuple[int, RawRecord, Problem]] = []
        in_chunk: dict[str, RawRecord] = {}
        chars = 0
        for index, record in enumerate(self._read()):
            self.rows_read += 1
            if record.offset is not None:
                self._offset = record.offset
            if record.data is None or not fields:
                problems.append((index, record, record.problem or Problem("the row could not be read.")))
            else:
                if rm is None:
                    rm = self.resolved = self.mapping.resolve(fields, source=str(self.path))
                source = f"{record.label}:{record.line}" if record.line is not None else record.label
                result = to_venture(record.data, rm, source)
                if isinstance(result, Problem):
                    problems.append((index, record, result))
                else:
                    venture, docs = result
                    first = in_chunk.get(venture["id"])
                    if first is not None:
                        problems.append(
                            (index, record, _duplicate(venture["id"], (first.path, first.line), record, rm))
                        )
                    else:
                        in_chunk[venture["id"]] = record
                        ventures.append((index, record, venture, docs))
                        chars += sum(len(d["text"]) for d in docs)
            if len(ventures) + len(problems) >= self.chunk_rows or chars >= CHUNK_CHARS:
                yield self._flush(ventures, problems, rm)
                ventures, problems, in_chunk, chars = [], [], {}, 0
        if ventures or problems:
            yield self._flush(ventures, problems, rm)

    def _flush(
        self,
        ventures: list[tuple[int, RawRecord, dict[str, Any], list[dict[str, Any]]]],
        problems: list[tuple[int, RawRecord, Problem]],
        rm: ResolvedMapping | None,
    ) -> IngestBatch:
        earlier = self.seen.first_seen([v["id"] for _, _, v, _ in ventures]) if ventures else {}
        if earlier and rm is not None:
            kept = []
            for item in ventures:
                index, record, venture, _docs = item
                first = earlier.get(venture["id"])
                if first is None:
                    kept.append(item)
                else:
                    problems.append((index, record, _duplicate(venture["id"], first, record, rm)))
            ventures = kept
            problems.sort(key=lambda p: p[0])
        skipped: list[SkippedRow] = []
        for _index, record, prob in problems:
            if not record.ignored and not self.skip_invalid:
                raise InvalidInput(
                    prob.message, source=record.path, line=record.line, field=prob.field, hint=prob.hint
                )
            skipped.append(SkippedRow(record.path, record.line, prob.field, prob.message))
        self.seen.add([(v["id"], r.path, r.line) for _, r, v, _ in ventures])
        rows = [v for _, _, v, _ in ventures]
        documents = [d for _, _, _, docs in ventures for d in docs]
        return IngestBatch(_frame(rows, VENTURE_COLUMNS), _frame(documents, DOCUMENT_COLUMNS), skipped)


def iter_batches(
    path: str | Path,
    *,
    format: str | None = None,
    mapping: FieldMapping | None = None,
    skip_invalid: bool = False,
    chunk_rows: int = CHUNK_ROWS,
    seen: SeenIds | None = None,
) -> BatchStream:
    """Read ventures from ``path`` as a stream of :class:`IngestBatch` chunks of at most
    ``chunk_rows`` rows each, with the mapping, validation and error messages of :func:`read`.

    ``seen`` keeps the ids accepted so far across chunks (default: in memory). A bad row raises
    :class:`InvalidInput` when its chunk is reached (unless ``skip_invalid``): a consumer that
    writes chunks must do so in one transaction to leave nothing behind.
    """
    return BatchStream(
        path, format=format, mapping=mapping, skip_invalid=skip_invalid, chunk_rows=chunk_rows, seen=seen
    )


def read(
    path: str | Path,
    *,
    format: str | None = None,
    mapping: FieldMapping | None = None,
    skip_invalid: bool = False,
) -> IngestBatch:
    """Read ventures from ``path`` (a file, or a folder of documents) into an :class:`IngestBatch`.

    ``format`` names a reader (``readers.names()``); by default it is detected from the extension
    (:func:`detect_format`). ``mapping`` says which fields are which (auto-detected by default).
    Nothing is written anywhere. The whole input is held in memory; :func:`iter_batches` streams.
    """
    p = Path(path)
    _check_exists(p)
    fmt = format if format is not None else detect_format(p)
    records: list[RawRecord] = list(readers.get(fmt)(p))
    stream = BatchStream(
        p,
        format=fmt,
        mapping=mapping,
        skip_invalid=skip_invalid,
        chunk_rows=max(1, len(records)),
        records=records,
    )
    parts = list(stream)
    if not parts:
        return IngestBatch(empty(VENTURE_COLUMNS), empty(DOCUMENT_COLUMNS), [])
    if len(parts) == 1:
        return parts[0]
    return IngestBatch(
        pd.concat([b.ventures for b in parts], ignore_index=True),
        pd.concat([b.documents for b in parts], ignore_index=True),
        [s for b in parts for s in b.skipped],
    )
