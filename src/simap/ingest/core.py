"""``read``: one input path -> an :class:`IngestBatch` (VENTURES and DOCUMENTS frames).

Per row: the id must be present and non-empty after mapping, at least one text field must be
non-empty, the year (if any) an integer in 1800..2100, and no id may repeat within the input. The
first bad row raises :class:`InvalidInput` (file, line, field, what was expected and received, and
the fix) unless ``skip_invalid=True``, which reports every bad row as a :class:`SkippedRow` and
keeps the rest. Texts are kept as they are except for stripping outer whitespace and turning
``\\r\\n`` into ``\\n``, so character offsets into DOCUMENTS texts stay valid evidence pointers.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from simap.batches import DOCUMENT_COLUMNS, VENTURE_COLUMNS, IngestBatch, SkippedRow, empty
from simap.errors import InvalidInput
from simap.ingest.mapping import FieldMapping, ResolvedMapping, slugify
from simap.ingest.readers import Problem, RawRecord, _check_exists, detect_format, readers

YEAR_MIN, YEAR_MAX = 1800, 2100


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
    Nothing is written anywhere.
    """
    p = Path(path)
    _check_exists(p)
    fmt = format if format is not None else detect_format(p)
    reader = readers.get(fmt)
    records: list[RawRecord] = list(reader(p))
    skipped: list[SkippedRow] = []

    def problem(record: RawRecord, prob: Problem) -> None:
        if record.ignored:
            skipped.append(SkippedRow(record.path, record.line, prob.field, prob.message))
            return
        if not skip_invalid:
            raise InvalidInput(
                prob.message, source=record.path, line=record.line, field=prob.field, hint=prob.hint
            )
        skipped.append(SkippedRow(record.path, record.line, prob.field, prob.message))

    fields: dict[str, None] = {}
    for record in records:
        if record.data is not None:
            fields.update(dict.fromkeys(record.data))
    if not fields:
        for record in records:
            if record.problem is not None:
                problem(record, record.problem)
        return IngestBatch(empty(VENTURE_COLUMNS), empty(DOCUMENT_COLUMNS), skipped)

    resolved = (mapping or FieldMapping()).resolve(list(fields), source=str(p))
    ventures: list[dict[str, Any]] = []
    documents: list[dict[str, Any]] = []
    seen: dict[str, RawRecord] = {}
    for record in records:
        if record.data is None:
            problem(record, record.problem or Problem("the row could not be read."))
            continue
        source = f"{record.label}:{record.line}" if record.line is not None else record.label
        result = to_venture(record.data, resolved, source)
        if isinstance(result, Problem):
            problem(record, result)
            continue
        venture, docs = result
        first = seen.get(venture["id"])
        if first is not None:
            where = f"line {first.line}" if first.path == record.path else f"{first.path}"
            problem(
                record,
                Problem(
                    f"ids must be unique within one input; got {venture['id']!r} again (first at {where}).",
                    field=resolved.id or resolved.name or "id",
                    hint="give each venture its own id, or remove the duplicate row",
                ),
            )
            continue
        seen[venture["id"]] = record
        ventures.append(venture)
        documents.extend(docs)
    return IngestBatch(_frame(ventures, VENTURE_COLUMNS), _frame(documents, DOCUMENT_COLUMNS), skipped)
